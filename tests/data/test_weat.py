"""The race and religion WEAT/SEAT tests: their word lists, orientation and shared sets."""

import pytest

from deepoptim.data import WEAT_BIASES, seat_sentences, weat_tests


def test_every_bias_has_its_tests():
    assert WEAT_BIASES == ("gender", "race", "religion")
    assert list(weat_tests("race")) == ["weat3", "weat4", "weat5"]
    assert list(weat_tests("religion")) == ["religion1", "religion1b", "religion2", "religion2b"]
    assert weat_tests() == weat_tests("gender")  # the default is the gender tests
    names = [name for bias in WEAT_BIASES for name in weat_tests(bias)]
    assert len(names) == len(set(names)) == 13
    with pytest.raises(ValueError, match="Invalid bias value: 'age'"):
        weat_tests("age")


def test_race_tests_follow_caliskan():
    tests = weat_tests("race")
    for test in tests.values():
        assert test.x.name.startswith("EuropeanAmerican") and test.x.kind == "names"
        assert test.y.name.startswith("AfricanAmerican") and test.y.kind == "names"
        assert test.a.name.startswith("Pleasant") and test.b.name.startswith("Unpleasant")
        for words in (test.x, test.y, test.a, test.b):
            assert len(words.words) == len(set(words.words)) == 8
    # WEAT 4 and 5 share their names; WEAT 3 and 4 their attributes (one object per set)
    assert tests["weat4"].x is tests["weat5"].x and tests["weat4"].y is tests["weat5"].y
    assert tests["weat3"].a is tests["weat4"].a and tests["weat3"].b is tests["weat4"].b
    assert tests["weat3"].x.words[:4] == ("Adam", "Harry", "Josh", "Roger")
    assert "Lakisha" not in tests["weat4"].y.words and "Ebony" in tests["weat4"].y.words
    assert tests["weat5"].a.words == ("joy", "love", "peace", "wonderful", "pleasure", "friend",
                                      "laughter", "happy")
    assert tests["weat5"].b.words == ("agony", "terrible", "horrible", "nasty", "evil", "war",
                                      "awful", "failure")


def test_religion_sets_are_aligned_and_share_the_race_attributes():
    tests = weat_tests("religion")
    race = weat_tests("race")
    christian, islam, judaism = (tests["religion1"].x, tests["religion1"].y,
                                 tests["religion2"].y)
    assert tests["religion2"].x is christian
    triples = list(zip(christian.words, islam.words, judaism.words, strict=True))
    assert ("church", "mosque", "synagogue") in triples and ("priest", "imam", "rabbi") in triples
    assert len({w for t in triples for w in t}) == 24  # no word in two religions
    assert tests["religion1"].a is race["weat5"].a and tests["religion1b"].a is race["weat3"].a
    assert tests["religion2b"].b is race["weat3"].b
    assert seat_sentences(christian)[0] == "This is a Christian."
    assert "The mosque is here." in seat_sentences(islam)
