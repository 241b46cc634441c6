"""The topic of a legal question: the NLU's guess combined with the laws of the articles found for it.

The NLU's topic (the ``legal_question`` response selector) was learned from a few hundred short
examples and is right for under half of real questions; the governing law of the articles the search
finds is a second, independent opinion (劳动合同法 → labor, 民法典第一千零七十九条 → marriage_family).
Each topic gets ``NLU_WEIGHT`` × the selector's confidence for it plus, for each of the best
``LAW_VOTE_DEPTH`` articles whose law maps to a topic, ``LAW_VOTE_DECAY`` ** rank; the highest wins.
The weights were chosen by ``benchmarks/topic.py`` on the STARD tuning questions and the FAQ
questions, each labelled by the law its gold articles come from (docs/benchmarks.md).

The topic chosen is the one logged with the consultation (statistics by topic) and the one whose next
step is shown. Keys are those of ``records.TOPICS``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from knowledge import Hit

OTHER = "other"

# Law names (full or short) → topic; the first pattern that matches wins. Procedural laws (legal aid,
# mediation, civil procedure) say nothing about the topic and are left out.
LAW_TOPICS: tuple[tuple[str, str], ...] = (
    (r"家庭暴力|婚姻|妇女|老年人|未成年人|收养", "marriage_family"),
    (r"劳动|工资|工伤|社会保险|就业|失业", "labor"),
    (r"民间借贷|担保|借款", "debt"),
    (r"道路交通|交通事故|交通安全", "traffic"),
    (r"土地|承包|农村集体|不动产|物业|城市房地产|房屋|宅基地|征收", "land_housing"),
    (r"消费者|产品质量|食品安全|价格|广告|电子商务", "consumer"),
    (r"人身损害|医疗", "personal_injury"),
    (r"刑法|刑事", "criminal"),
    (r"行政|治安管理|村民委员会|信访", "administrative"),
)
_LAW_TOPICS = tuple((re.compile(pattern), topic) for pattern, topic in LAW_TOPICS)

# The civil code spans every topic: its articles by number (inclusive ranges; the rest, e.g. the general
# part and the general rules of contracts, say nothing about the topic).
CIVIL_CODE_TOPICS: tuple[tuple[int, int, str], ...] = (
    (205, 287, "land_housing"),  # property: ownership
    (288, 296, "neighbor"),  # 相邻关系
    (297, 385, "land_housing"),  # co-ownership, usufruct (承包经营权, 宅基地使用权)
    (386, 462, "debt"),  # security interests
    (595, 647, "consumer"),  # sales
    (667, 702, "debt"),  # loans, guarantees
    (703, 734, "land_housing"),  # leases
    (735, 769, "debt"),  # financial leasing, factoring
    (937, 950, "land_housing"),  # property management services
    (979, 988, "debt"),  # negotiorum gestio, unjust enrichment
    (989, 1039, "personal_injury"),  # personality rights
    (1040, 1118, "marriage_family"),
    (1119, 1163, "inheritance"),
    (1164, 1201, "personal_injury"),  # torts: general
    (1202, 1207, "consumer"),  # product liability
    (1208, 1217, "traffic"),  # motor vehicle accidents
    (1218, 1258, "personal_injury"),  # medical, environment, hazards, animals, buildings
)


@dataclass(frozen=True)
class TopicWeights:
    nlu: float = 3.0
    law_vote_depth: int = 5
    law_vote_decay: float = 0.7


WEIGHTS = TopicWeights()


def law_topic(law: str, article_num: int | None = None) -> str | None:
    """The topic a law (and, for the civil code, an article number) belongs to; None when it says nothing."""
    if "民法典" in law and "解释" not in law:
        for first, last, topic in CIVIL_CODE_TOPICS:
            if article_num is not None and first <= article_num <= last:
                return topic
        return None
    for pattern, topic in _LAW_TOPICS:
        if pattern.search(law):
            return topic
    return None


def article_topic(article_id: str, law: str = "") -> str | None:
    """The topic of an article id such as ``民法典-1079`` (its law's short name, a dash, the number)."""
    name, _, number = article_id.rpartition("-")
    return law_topic(law or name, int(number) if number.isdigit() else None)


def law_votes(hits: Sequence[Hit], weights: TopicWeights = WEIGHTS) -> dict[str, float]:
    """Each of the best articles votes for its law's topic, less the further down it ranks."""
    votes: dict[str, float] = {}
    for rank, hit in enumerate(hits[: weights.law_vote_depth]):
        topic = article_topic(hit.id, hit.law)
        if topic:
            votes[topic] = votes.get(topic, 0.0) + weights.law_vote_decay**rank
    return votes


def choose_topic(
    nlu: Mapping[str, float], hits: Sequence[Hit], topics: Iterable[str], weights: TopicWeights = WEIGHTS
) -> str:
    """The topic of a question: ``nlu`` maps topic keys to the selector's confidence, ``hits`` are the
    articles found (best first), ``topics`` the known keys. ``other`` when nothing points anywhere."""
    known = set(topics)
    scores = {t: weights.nlu * c for t, c in nlu.items() if t in known and t != OTHER}
    for topic, vote in law_votes(hits, weights).items():
        if topic in known:
            scores[topic] = scores.get(topic, 0.0) + vote
    if not scores or max(scores.values()) <= 0:
        return OTHER
    return max(scores, key=scores.__getitem__)
