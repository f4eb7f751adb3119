"""The study's numbers, as quoted by the book's pages through glue."""

from tscompress import study


def test_gap_text_counts_the_study_test_cases_between_two_accuracies():
    assert study.cases(0.8097, 0.7951) == 3  # 166 vs 163 of 205
    assert study.gap_text(0.761, 0.766, "en") == "0.761 vs 0.766, 1 case of 205"
    assert study.gap_text(0.8097, 0.7951, "en", arrow=True) == "0.810 → 0.795, 3 cases of 205"
    assert study.gap_text(0.761, 0.766, "ru") == "0,761 против 0,766; 1 пример из 205"
    assert study.gap_text(0.8097, 0.7951, "ru", arrow=True) == "0,810 → 0,795; 3 примера из 205"
    assert study.gap_text(0.5, 0.5 + 21 / 205, "ru").endswith("21 пример из 205")
    assert study.gap_text(0.5, 0.5 + 12 / 205, "ru").endswith("12 примеров из 205")
