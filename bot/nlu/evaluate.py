"""`pana nlu test`: the real pipeline (normaliser, Rasa server, policy, language detector) on the held-out set."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from bot.core.language import LanguageDetector
from bot.core.policy import ASYLUM_APPLY, OUT_OF_SCOPE, Action, Thresholds, decide
from bot.core.ports import Classification, IntentClassifier
from bot.nlu.testset import STYLES, Example

IsTopic = Callable[[str], bool]


@dataclass(frozen=True, slots=True)
class Intents:
    """What the policy needs to know of the intent contract (content/intents.yml)."""

    is_topic: IsTopic
    is_urgent: IsTopic = lambda _: False

    def is_pressing(self, name: str) -> bool:
        """Urgent topics and asylum_apply: the ones the safety-first rule leads with."""
        return name == ASYLUM_APPLY or self.is_urgent(name)


@dataclass(frozen=True, slots=True)
class Outcome:
    example: Example
    result: Classification
    detected_language: str | None
    seconds: float

    @property
    def predicted(self) -> str:
        top = self.result.top
        return top.name if top else "none"


def accuracy(pairs: Iterable[tuple[str, str]]) -> float:
    items = list(pairs)
    return sum(a == b for a, b in items) / len(items) if items else 0.0


def macro_f1(pairs: list[tuple[str, str]]) -> float:
    labels = {gold for gold, _ in pairs}
    scores = [per_label(pairs, label)[2] for label in labels]
    return statistics.fmean(scores) if scores else 0.0


def per_label(pairs: list[tuple[str, str]], label: str) -> tuple[float, float, float]:
    tp = sum(1 for g, p in pairs if g == label and p == label)
    fp = sum(1 for g, p in pairs if g != label and p == label)
    fn = sum(1 for g, p in pairs if g == label and p != label)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


Rerank = Callable[[str, Classification], Classification]


def unchanged(_: str, result: Classification) -> Classification:
    """No reranking: the classifier's ranking as it came (to measure what a rule adds)."""
    return result


async def run(
    classifier: IntentClassifier,
    examples: list[Example],
    detector: LanguageDetector,
    rerank: Rerank = unchanged,
) -> list[Outcome]:
    """Classify every example as the bot does: the classifier, then the policy layer's `rerank` (arrival rule)."""
    outcomes = []
    for example in examples:
        started = time.perf_counter()
        result = rerank(example.text, await classifier.classify(example.text))
        seconds = time.perf_counter() - started
        outcomes.append(Outcome(example, result, detector.detect(example.text).language, seconds))
    return outcomes


@dataclass
class Report:
    """Every figure `pana nlu test` prints, also used for floors and threshold tuning."""

    figures: dict[str, float] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PolicyFigures:
    oos_recall: float  # out-of-scope messages refused
    inscope_rejected: float  # real questions neither answered nor offered as an option
    policy_accuracy: float  # right answer 1, right topic among the options 0.5, refused out-of-scope 1
    wrong_answers: float  # answered outright with the wrong intent: the costliest mistake
    urgent_led: float  # urgent or asylum questions whose reply leads with the danger header or the deadline
    needless_header: float  # other messages (out-of-scope included) given such a header

    @property
    def score(self) -> float:
        """What `tune` maximises: a wrong legal answer loses its point and one more."""
        return self.policy_accuracy - self.wrong_answers


def policy_figures(outcomes: list[Outcome], thresholds: Thresholds, intents: Intents) -> PolicyFigures:
    """Everything the policy does with the held-out set under these thresholds (one decision per message)."""
    refused = {Action.OUT_OF_SCOPE, Action.NOT_UNDERSTOOD}
    caught = rejected = wrong = out_of_scope = pressing = led = needless = 0
    good = 0.0
    for o in outcomes:
        d = decide(o.result, thresholds, intents.is_topic, intents.is_urgent)
        header = d.action is Action.URGENT or (d.action is Action.ANSWER and intents.is_pressing(d.intent or ""))
        if intents.is_pressing(o.example.intent):
            pressing += 1
            led += header
        else:
            needless += header
        if o.example.intent == OUT_OF_SCOPE:
            out_of_scope += 1
            caught += d.action in refused
            good += d.action in refused
            wrong += d.action is Action.ANSWER  # an off-topic message answered as a legal question
        elif d.action in refused:
            rejected += 1
        elif d.action is Action.ANSWER:
            good += d.intent == o.example.intent
            wrong += d.intent != o.example.intent
        elif d.action in (Action.SUGGEST, Action.URGENT):
            good += 0.5 * (o.example.intent in d.suggestions)
    total, in_scope = max(1, len(outcomes)), max(1, len(outcomes) - out_of_scope)
    others = max(1, len(outcomes) - pressing)
    return PolicyFigures(
        caught / max(1, out_of_scope),
        rejected / in_scope,
        good / total,
        wrong / total,
        led / max(1, pressing),
        needless / others,
    )


def build_report(
    outcomes: list[Outcome], thresholds: Thresholds, intents: Intents, title: str = "Held-out examples"
) -> Report:
    report = Report()
    pairs = [(o.example.intent, o.predicted) for o in outcomes]
    out = report.lines.append
    fig = report.figures
    fig["accuracy"] = accuracy(pairs)
    fig["macro_f1"] = macro_f1(pairs)
    out(f"{title}: {len(outcomes)}")
    out(f"Intent accuracy {fig['accuracy']:.3f}   macro-F1 {fig['macro_f1']:.3f}")
    out("")
    out("Per language            n   accuracy  macro-F1  language-id")
    for language in sorted({o.example.language for o in outcomes}):
        sub = [o for o in outcomes if o.example.language == language]
        sub_pairs = [(o.example.intent, o.predicted) for o in sub]
        lid = accuracy((o.example.language, o.detected_language or "") for o in sub)
        fig[f"accuracy_{language}"] = accuracy(sub_pairs)
        fig[f"macro_f1_{language}"] = macro_f1(sub_pairs)
        fig[f"language_id_{language}"] = lid
        out(
            f"  {language:<18} {len(sub):5}   {fig[f'accuracy_{language}']:.3f}     "
            f"{fig[f'macro_f1_{language}']:.3f}     {lid:.3f}"
        )
    fig["language_id"] = accuracy((o.example.language, o.detected_language or "") for o in outcomes)
    out(f"  language identification overall {fig['language_id']:.3f}")
    out("")
    out("Per writing style       n   accuracy  language-id")
    for language, style in sorted({(o.example.language, o.example.style) for o in outcomes}):
        sub = [o for o in outcomes if (o.example.language, o.example.style) == (language, style)]
        acc = accuracy((o.example.intent, o.predicted) for o in sub)
        lid = accuracy((o.example.language, o.detected_language or "") for o in sub)
        fig[f"accuracy_{language}_{style}"] = acc
        out(f"  {language}/{style:<15} {len(sub):5}   {acc:.3f}     {lid:.3f}")
    out("")
    # The targets (long messages, Latin script, headings, arrival stories) are set over all languages.
    out("Per writing style, all languages")
    for style in [s for s in STYLES if any(o.example.style == s for o in outcomes)]:
        sub = [o for o in outcomes if o.example.style == style]
        acc = accuracy((o.example.intent, o.predicted) for o in sub)
        fig[f"accuracy_style_{style}"] = acc
        out(f"  {style:<20} {len(sub):5}   {acc:.3f}")
    out("")
    out("Per intent              n   precision recall  F1")
    for intent in sorted({o.example.intent for o in outcomes}):
        p, r, f = per_label(pairs, intent)
        n = sum(1 for g, _ in pairs if g == intent)
        out(f"  {intent:<22}{n:4}   {p:.3f}     {r:.3f}   {f:.3f}")
    out("")
    out("Worst confusions (gold -> predicted: count)")
    confusions = Counter((g, p) for g, p in pairs if g != p)
    for (gold, predicted), count in confusions.most_common(12):
        out(f"  {gold} -> {predicted}: {count}")
    policy = policy_figures(outcomes, thresholds, intents)
    fig["oos_recall"] = policy.oos_recall
    fig["inscope_rejected"] = policy.inscope_rejected
    fig["policy_accuracy"] = policy.policy_accuracy
    fig["wrong_answers"] = policy.wrong_answers
    fig["urgent_led"] = policy.urgent_led
    fig["needless_header"] = policy.needless_header
    out("")
    out(
        f"Policy (answer {thresholds.answer:.2f}, suggest {thresholds.suggest:.2f}, "
        f"out-of-scope {thresholds.out_of_scope:.2f}, urgent {thresholds.urgent:.2f}):"
    )
    out(
        f"  out_of_scope recall {policy.oos_recall:.3f}   in-scope rejected {policy.inscope_rejected:.3f}   "
        f"policy accuracy {policy.policy_accuracy:.3f}   wrong answers {policy.wrong_answers:.3f}"
    )
    out(
        f"  safety first: urgent/asylum questions led with the header or deadline {policy.urgent_led:.3f}   "
        f"other messages given one needlessly {policy.needless_header:.3f}"
    )
    latencies = sorted(o.seconds * 1000 for o in outcomes)
    fig["parse_p50_ms"] = statistics.median(latencies)
    fig["parse_p95_ms"] = latencies[int(0.95 * (len(latencies) - 1))]
    out(f"Parse latency through the bot's client: p50 {fig['parse_p50_ms']:.1f} ms, p95 {fig['parse_p95_ms']:.1f} ms")
    return report


def tune(
    outcomes: list[Outcome], intents: Intents, urgent: float, max_rejected: float = 0.03
) -> list[tuple[Thresholds, PolicyFigures]]:
    """Grid-search thresholds with at most `max_rejected` in-scope refusals, best `PolicyFigures.score` first.

    A confident wrong legal answer costs more than offering options, hence the score.
    """
    grid = [x / 100 for x in range(5, 100, 5)]
    results = []
    for answer in grid:
        for suggest in (s for s in grid if s <= answer):
            for oos in grid:
                thresholds = Thresholds(answer=answer, suggest=suggest, out_of_scope=oos, urgent=urgent)
                figures = policy_figures(outcomes, thresholds, intents)
                if figures.inscope_rejected <= max_rejected:
                    results.append((thresholds, figures))
    # Meeting the targets comes first (out-of-scope recall 0.90, at most 2.5 % wrong answers), then the score.
    results.sort(
        key=lambda item: (item[1].oos_recall < 0.9, item[1].wrong_answers > 0.025, -item[1].score, -item[1].oos_recall)
    )
    return results[:10]


def tune_urgent(outcomes: list[Outcome], thresholds: Thresholds, intents: Intents) -> list[tuple[float, PolicyFigures]]:
    """The safety-first threshold swept with the others fixed: urgent questions led vs needless headers."""
    grid = [x / 100 for x in range(5, 55, 5)]
    return [(u, policy_figures(outcomes, replace(thresholds, urgent=u), intents)) for u in grid]
