"""The emergency detection (safety/: rules and learned score) on the test set and the cases it must get right."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import safety
from safety import score
from safety.emergency import DOMESTIC, FIRE, FIRE_TRAPPED, LEARNED_KIND_ADDED, TRIGGERS
from safety.normalise import HOMOPHONE_SLIPS
from tests.safety.emergency_sets import HELD_OUT_PARTS, PARTS, REQUIRED, load

ROOT = Path(__file__).resolve().parents[2]
MAX_FALSE_ALARMS = 0.05


def test_the_set_is_large_and_its_parts_do_not_overlap() -> None:
    emergencies = {p: load(True, p) for p in PARTS}
    others = {p: load(False, p) for p in PARTS}
    assert sum(len(v) for v in emergencies.values()) >= 100
    assert sum(len(v) for v in others.values()) >= 200
    assert {e.kind for e in emergencies["dev"]} == set(REQUIRED)
    texts = [e.text for part in (*emergencies.values(), *others.values()) for e in part]
    assert len(texts) == len(set(texts)), "a message is in two places"


def test_held_out_messages_are_not_nlu_training_data() -> None:
    training = set()
    for path in (ROOT / "bot" / "nlu").glob("*.yml"):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            training |= {line.strip()[2:] for line in block.get("examples", "").splitlines()}
    held_out = {e.text for part in HELD_OUT_PARTS for e in load(True, part) + load(False, part)}
    assert held_out & training == set()


def test_every_dev_emergency_gets_its_numbers() -> None:
    missed = [(e.kind, e.text, safety.detect(e.text).kinds) for e in load(True, "dev")
              if not e.caught_by(safety.detect(e.text).numbers)]
    assert missed == []


# Recall the held-out rounds must keep: full, their misses were seen and fixed by class (round 17's last one, the
# attacker coming back after a beating framed as past, in round 19's session).
HELD_OUT_MIN_RECALL = {part: 1.0 for part in HELD_OUT_PARTS}


@pytest.mark.parametrize("part", HELD_OUT_PARTS)
def test_held_out_rounds_keep_their_recall_and_few_false_alarms(part: str) -> None:
    """A regression guard: the rules and the score have seen these parts (first-run figures in their headers;
    benchmarks/emergency.py --leave-one-round-out measures the score on a round it was not trained on)."""
    emergencies = load(True, part)
    missed = [(e.kind, e.text) for e in emergencies if not e.caught_by(safety.detect(e.text).numbers)]
    others = load(False, part)
    alarms = [e.text for e in others if safety.detect(e.text).is_emergency]
    assert len(missed) <= (1 - HELD_OUT_MIN_RECALL[part]) * len(emergencies), missed
    assert len(alarms) <= MAX_FALSE_ALARMS * len(others), alarms


def test_dev_false_alarms_are_at_most_5_percent() -> None:
    examples = load(False, "dev")
    alarms = [(e.text, safety.detect(e.text).kinds) for e in examples if safety.detect(e.text).is_emergency]
    assert len(alarms) <= MAX_FALSE_ALARMS * len(examples), alarms


@pytest.mark.parametrize(
    "text",
    [
        "着火了的房子归谁",
        "打架的案子判了",
        "去年被打了现在能起诉吗",
        "他自杀了 保险赔不赔",
        "如果家里着火了 该怎么逃生",
        "撞车了 没人受伤 怎么私了",
        "新闻说县城有个市场着火了",
        "救命钱被骗了 能追回吗",
        "我老公以前打过我 能离婚吗",
        "天然气漏气的事故 物业要赔吗",
        "防溺水安全教育讲什么",
        # a third person's story of past violence with a claim, a plea about money or property
        "邻居被人打伤了 伤好了对方不认账",
        "救命啊 老板欠我工资不给",
        "快来人啊 我家地被隔壁占了",
        # the past aspect (晕倒过) and a trigger followed by 以后
        "我妈晕倒过好几次 单位不让她上班",
        "房子被火烧了以后 补贴一直没发",
    ],
)
def test_past_legal_hypothetical_and_negated_mentions_are_not_emergencies(text: str) -> None:
    assert safety.detect(text).kinds == ()


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("房子着火了 里面还有人", ("119", "120")),
        ("仓库着火了", ("119",)),
        ("我老公正在打我", ("110", "12338")),
        ("我不想活了", ("110", "120", "12356")),
        ("出车祸了 人躺在地上流血", ("122", "120")),
        ("家里天然气漏了", ("119",)),
        ("我爸煤气中毒了 叫不醒", ("120",)),
        ("孩子掉河里了", ("110", "120")),
        ("救命", ("110", "120")),
        # present danger wins over a legal question in the same message
        ("我想死 老公出轨 钱也没了 能离婚吗", ("110", "120", "12356")),
        # self-harm worded as an injury also gets the crisis line
        ("我割了手 血一直流 别管我", ("110", "120", "12356")),
        ("自己拿刀片划了胳膊", ("110", "120", "12356")),
        # water carrying someone away; a vehicle running over someone
        ("小孩在海边被浪头卷走了", ("110", "120")),
        ("三轮车从他腿上碾过去了", ("122", "120")),
        # a long message that starts with a legal question and breaks off for a danger
        ("我想问拆迁补偿的事 跟村里谈了好几次 都不松口 等一下 厨房冒烟了 着火了", ("119",)),
        # first-person intent to jump inside a complaint about money
        ("工钱要不回来 官司也输了 我准备从桥上跳下去", ("110", "120", "12356")),
    ],
)
def test_numbers_come_in_order_of_urgency(text: str, numbers: tuple[str, ...]) -> None:
    assert safety.detect(text).numbers == numbers


def test_an_unnamed_attacker_now_wins_over_a_lawsuit() -> None:
    """An unnamed "he" hitting "me": 110 first. Whether 12338 is added is the learned score's call (trained with
    round 19's wives' reports it was; with round 20's strangers who threaten by text it no longer is sure enough)."""
    numbers = safety.detect("他正在打我 我要起诉他").numbers
    assert numbers[0] == "110" and set(numbers) <= {"110", "12338"}, numbers


@pytest.mark.parametrize(
    "text",
    [
        "房子着火了！！！",  # full-width punctuation
        "ｆｉｒｅ 房子着火了１１９",  # full-width letters and digits
        "房子著火了 屋裡還有人",  # traditional characters
        "房 子 着 火 了",  # spaced out
        "房子、着、火、了",
        "俺家着伙了",  # typo
        "屋头走水了",  # dialect
        "zhao huo le 快来",  # pinyin with the input method off
        "wo jia zhaohuo le",
    ],
)
def test_spelling_variants_are_normalised(text: str) -> None:
    assert set(safety.detect(text).kinds) & {FIRE, FIRE_TRAPPED}


def test_normalise_maps_variants_to_one_spelling() -> None:
    assert safety.normalise("電動車充電起火了　屋裡全是煙！！") == "电动车充电起火了，屋里全是烟"
    assert safety.normalise("他、现、在、打、我") == "他现在打我"
    assert safety.normalise("天燃气泄露") == "天然气泄漏"
    assert safety.normalise("zhao huo le 我家二楼") == "着火了，我家二楼"
    assert safety.normalise("我bu想活了") == "我不想活了"
    assert safety.normalise("wifi断了 bus来了") == "wifi断了，bus来了"


def test_empty_and_odd_input_is_no_emergency() -> None:
    for text in ("", "   ", "？？？", "/affirm", "😀" * 500, "a" * 10_000, "车祸" * 5_000):
        assert safety.detect(text).kinds == ()


def test_every_kind_has_numbers_and_a_name() -> None:
    derived = {DOMESTIC, FIRE_TRAPPED}  # violence at home, a fire with people inside
    assert set(TRIGGERS) | derived == set(safety.NUMBERS) == set(safety.KIND_NAMES)
    assert all(safety.NUMBERS[k] for k in safety.KINDS)


def test_safety_imports_only_the_standard_library() -> None:
    """Both the Rasa server and the action server import it, so it may depend on nothing else."""
    for path in (ROOT / "safety").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                for name in names:
                    top = name.split(".")[0]
                    assert top == "safety" or top in sys.stdlib_module_names or top == "__future__", (path, name)


def test_the_learned_score_is_trained_on_the_current_data() -> None:
    """safety/emergency_score.json must come from the dev set and NLU data as they are now."""
    script = ROOT / "scripts" / "train_emergency_score.py"
    result = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("text", "number"),
    [("我奶奶一下子就软了 嘴里咕噜咕噜的", "120"), ("娃掉下去了 下面是水", "110")],
)
def test_the_learned_score_catches_what_no_rule_names(text: str, number: str) -> None:
    detection = safety.detect(text)
    assert detection.learned and number in detection.numbers


def test_the_learned_score_is_not_asked_about_framed_messages() -> None:
    """A question about the past or the news gets no emergency from the score, however high it is."""
    detection = safety.detect("电视上说有人喝农药 没救过来")
    assert detection.probability >= 0.6 and detection.kinds == ()


# --- Issue 10, rounds 12-14: classes of wording, tested with sentences of their own (not the rounds').


@pytest.mark.parametrize(
    ("slip", "word"),
    [("我割婉了", "割腕"), ("我娘婚倒了", "昏倒"), ("车获了", "车祸"), ("他喝了安眠要", "安眠药"), ("快抱警", "报警")],
)
def test_a_homophone_slip_of_a_danger_word_reads_as_the_word(slip: str, word: str) -> None:
    assert word in safety.normalise(slip)


def test_no_homophone_slip_is_a_word_of_real_legal_questions() -> None:
    """The slips are mapped everywhere, so none may be a word residents use for something else."""
    files = [*sorted((ROOT / "knowledge" / "data" / "eval").glob("stard_*.jsonl")),
             ROOT / "knowledge" / "data" / "faq" / "lecoqa_train.jsonl"]
    questions = [line for path in files for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(questions) > 1000
    assert [slip for slip, _ in HOMOPHONE_SLIPS if any(slip in q for q in questions)] == []


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        # a resident breaks off a legal question (先不说了) to report a danger
        ("我想问问工伤的事 先不说了 隔壁冒烟着火了", ("119",)),
        # a vehicle's blow (刮倒, 让车给挂了, 夹), a rider's fall: 122 with 120
        ("骑电瓶车被小车刮倒了 膝盖全是血", ("122", "120")),
        ("放学路上娃让车给挂了 头上流血", ("122", "120")),
        ("拖拉机把人夹在墙上了 人喘不上气", ("122", "120")),
        ("骑摩托下坡摔到沟里了 人不动了", ("122", "120")),
        # the partner as residents name him, an unnamed "he" at home: 12338 with 110
        ("我男的在打我 孩子在哭", ("110", "12338")),
        ("他喝多了在砸东西 还打我 我锁在厕所里", ("110", "12338")),
        ("家暴 快来人 他在踹门", ("110", "12338")),
        # strangers are not family
        ("有几个人在巷子里打我 快来", ("110",)),
        # a flood with people who cannot get out
        ("山洪下来了 我们一家困在二楼 出不去", ("110", "120")),
        # 的 typed for 得 after a hit
        ("我被他打的满脸是血", ("110", "120")),
        # a person's present state says "now" even beside a question
        ("我爷爷昏过去了 救护车一般多久到", ("120",)),
        # gas underground
        ("化粪池里下去的人晕倒了", ("120",)),
        # the shortest plea; an ex-partner; someone on a ledge who will not come down, beside "how to"
        ("救我", ("110", "120")),
        ("前男友拿着刀在我家门口", ("110", "12338")),
        ("我弟坐在楼顶边上说要跳 怎么劝都不听", ("110", "120", "12356")),
        # a call to put a fire out; a vehicle that ran over a child; a valve that will not close; rails
        ("快救火 后院的柴房", ("119",)),
        ("收割机把一个老人轧了", ("122", "120")),
        ("燃气阀门关不住了", ("119",)),
        ("有人躺在铁轨上不走", ("110", "120", "12356")),
        # someone else crying for help, even in a field; a farewell
        ("有个女的在地里喊救命", ("110", "120")),
        ("这是我最后一条留言了 对不起爸妈", ("110", "120", "12356")),
    ],
)
def test_classes_of_wording_get_their_numbers(text: str, numbers: tuple[str, ...]) -> None:
    """The numbers the danger needs, in this order (the learned score may add another kind's after)."""
    given = safety.detect(text).numbers
    assert [n for n in given if n in numbers] == list(numbers), given


@pytest.mark.parametrize(
    "text",
    [
        "我想死你了 啥时候回来",
        "我想死的心都有了 社保又断了",
        "这首歌太炸了",
        "我快被老板气吐血了",
        "笑得我肚子疼",
        "救救我的头发吧",
        "救命 这个表格怎么填",
        "我不想活在这个村了 户口能迁吗",
        "家暴告诫书有什么用",
        "孩子掉井里那事 村里该不该赔",
        "我家的猪被车撞死了 司机跑了",
        "我家电视机坏了 商家不给修",
        "煤炉取暖容易中毒 村里该不该管",
        "我工友去年从架子上掉下来 工伤认定下来了",
        "快来人 我家的电动车被偷了",
        "我快不行了 欠的债还不上",
        "燃气灶老是点不着火 能退货吗",
        "我脑袋要炸了 作业太多",
        "我想立个遗嘱 房子给小儿子",
        "救火队员是事业编吗",
        "点火枪能带上火车吗",
        "溺水急救课程在哪报名",
        "我老公老打我 现在分开了 能要赔偿吗",
        "这剧的男主最后跳河了 太惨了",
    ],
)
def test_idioms_things_and_past_events_are_not_emergencies(text: str) -> None:
    assert safety.detect(text).kinds == ()


# --- Round 18: classes of wording, tested with sentences of their own (not the round's).


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        # Cantonese and Hokkien words for hitting, a husband, fainting, hurrying
        ("佢哋喺村口劈友 有人流血", ("110",)),
        ("阮翁又拍甲我 头都破了", ("110", "12338")),
        ("我阿爸晕低咗 冇气", ("120",)),
        ("唔想再活落去 对唔住", ("110", "120", "12356")),
        # homophone slips of 晕倒 and 叫不醒; 逆水 with the aspect marker
        ("我爷爷云倒在院子里", ("120",)),
        ("我奶奶叫不行了", ("120",)),
        ("小孩逆水了 在河边", ("110", "120")),
        # pinyin and English words in a mixed message
        ("lao po da wo jiu ming", ("110", "12338")),
        ("ran qi xie lou le", ("119",)),
        ("my wife 拿刀 要砍我 help", ("110", "12338")),
        ("car accident 前面 两个人 bleeding", ("122", "120")),
        # a danger now inside a legal question: the means bought, a leak again, the injured at an accident's scene
        ("离婚了房子归他 农药都买好了 我想问问财产怎么分", ("110", "120", "12356")),
        ("物业不管能不能告他们 厨房又漏气了 一股味", ("119",)),
        ("交通事故怎么定责任 我现在在现场 有个人压在车下面", ("122", "120")),
        # breathing and chest wording, a child typing words apart
        ("我爸呼吸不过来了 胸口特别疼", ("120",)),
        ("妈妈 屋里 火 很大", ("119",)),
    ],
)
def test_round18_classes_of_wording_get_their_numbers(text: str, numbers: tuple[str, ...]) -> None:
    given = safety.detect(text).numbers
    assert [n for n in given if n in numbers] == list(numbers), given


@pytest.mark.parametrize(
    "text",
    [
        # an emotion or a chore as the cause (not for illness: see the next test), prices, what one would see
        "气得我要跳楼 他又去打牌了",
        "丢人丢得想死 考试又没及格",
        "加班加到想死 老板不给加班费",
        "看到这个彩礼我都要晕倒了",
        "跳楼价甩卖 这种广告算虚假宣传吗",
        "我要炸了 老公又不回家",
        # prevention, teaching, learning in advance; a person's manner; a plea about schoolwork
        "怎么预防老人煤气中毒",
        "想学一下溺水了怎么救",
        "村里想普及一下着火了怎么逃生",
        "他这人没气质 说话难听",
        "救命 这道物理题不会",
        # questions typed in pinyin
        "ta qu nian tiao lou le bao xian pei ma",
        "che huo pei chang duo shao",
    ],
)
def test_round18_hyperbole_prevention_and_pinyin_questions_are_not_emergencies(text: str) -> None:
    assert safety.detect(text).kinds == ()


@pytest.mark.parametrize("text", ["我爸气得晕过去了 叫不醒", "她哭得背过气去了", "疼得要死 在地上打滚"])
def test_an_emotion_as_the_cause_does_not_set_aside_a_medical_emergency(text: str) -> None:
    assert "120" in safety.detect(text).numbers


def test_leaving_a_round_out_trains_on_none_of_its_messages() -> None:
    """The leave-one-round-out figures mean something only if the left-out round is not in the training data."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from train_emergency_score import training_data

    emergency, kinds = training_data(leave_out="round18")
    trained = {text for text, _ in emergency} | {text for text, _ in kinds}
    round18 = {e.text for e in load(True, "round18") + load(False, "round18")}
    assert len(round18) > 300 and trained & round18 == set()
    everything, _ = training_data()
    assert round18 <= {text for text, _ in everything}


def test_the_learned_score_adds_the_cause_the_rules_did_not_name() -> None:
    """The rules read an injury (120); the score is sure it is a road accident: 122 is added."""
    text = "骑车回家路上跟人家的车碰了 腿上全是血"
    detection = safety.detect(text)
    assert not detection.learned and detection.numbers == ("122", "120")
    kind, certainty = score.likely_kind(safety.normalise(text))
    assert kind == "traffic" and certainty >= LEARNED_KIND_ADDED


def test_an_added_kind_never_makes_a_message_an_emergency() -> None:
    """Only a message the rules already flagged gets the learned score's kind."""
    for text in ("骑车回家路上跟人家的车碰了", "出车祸以后的赔偿标准", "老公的车被人撞了 保险怎么赔"):
        assert safety.detect(text).kinds == ()


@pytest.mark.parametrize(
    ("text", "set_aside"),
    [
        ("笑死我了 这个视频太逗了", True),
        ("出租房着火的事法院判下来了", True),
        ("我这边出了点状况", False),
        ("着火了", False),
    ],
)
def test_a_message_the_rules_set_aside_says_so(text: str, set_aside: bool) -> None:
    """The NLU component drops the classifier's own ``emergency`` for a message the rules set aside."""
    assert safety.detect(text).set_aside is set_aside


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        # a fire without the word: smoke pouring out, a shed catching, crackling, water that does not put it out
        ("楼上窗户里烟一直往外冒 敲门没人开", ("119",)),
        ("牛棚着了 烧得呼呼的", ("119",)),
        ("灶台那边泼水都泼不灭", ("119",)),
        # bleeding that pressing does not stop, heat stroke, weak breathing
        ("手划了个大口子 血用毛巾捂都捂不住", ("120",)),
        ("工地上晒了一天 他突然一头栽下去 在说胡话", ("120",)),
        ("我爷爷出气很弱 喊他也不应", ("120",)),
        # falling into water in dialect verbs (Cantonese, Hakka), the ice giving way, pulled out not moving
        ("个细佬跌咗落鱼塘", ("110", "120")),
        ("冰面裂开了 有人掉下去了", ("110", "120")),
        ("娃子滑进水缸里了 捞上来没反应", ("110", "120")),
        # a weapon a word after the holding verb, held down and beaten, a chase, hiding from an attacker now
        ("有个男的提着杀猪刀在村口转", ("110",)),
        ("他们把我按在地上打", ("110",)),
        ("我老倌子又在打我", ("110", "12338")),
        ("我躲在卫生间 他在外面砸门", ("110", "12338")),
        # first person on a height not wanting to come down; a farewell with blood
        ("我坐在天台边上 不想下去了", ("110", "120", "12356")),
        ("她发消息说下辈子见 手腕上全是血", ("110", "120", "12356")),
        ("不想再连累孩子们了", ("110", "120", "12356")),
        # pits, cellars and generators; a hissing tank, a strong smell, a meter running
        ("我爸下地窖拿白菜 半天没上来 喊也不吭声", ("120",)),
        ("在车库里开发电机 两个人都恶心头晕", ("120",)),
        ("煤气罐接头嘶嘶的 一股子味", ("119",)),
        ("燃气表一直在转 家里没人用气", ("119",)),
        # a vehicle off the road, someone dragged under the wheels, a three-wheeler overturned on someone
        ("出租车把一个老太太卷到车底下了", ("122", "120")),
        ("班车冲下山坡了 好多人受伤", ("122", "120")),
        ("三马子翻了 我爹压在底下", ("122", "120")),
        # pinyin husband and "now", Wu 勿 and 阿拉, Min 尪
        ("wo zhang fu zheng zai da wo", ("110", "12338")),
        ("阿拉姆妈讲伊勿想活了", ("110", "120", "12356")),
        ("我尪閣咧拍我", ("110", "12338")),
    ],
)
def test_round19_classes_of_wording_get_their_numbers(text: str, numbers: tuple[str, ...]) -> None:
    given = safety.detect(text).numbers
    assert [n for n in given if n in numbers] == list(numbers), given


@pytest.mark.parametrize(
    "text",
    [
        # a thing that is "dying" or flat, not a person
        "我手机快不行了 商家不给修",
        "电动车轮胎没气了 修一下多少钱",
        # weather or a chore as the cause
        "这天热得想死 房东不修空调",
        "改论文改得我想跳楼",
        # dialect "last year", a death, a bite already treated, a third person's past fall
        "旧年屋里着火 补贴还没发",
        "他爸癌症走了以后 房子怎么分",
        "被狗咬了打疫苗花了多少钱 谁出",
        "员工从楼顶跳下去了 公司要不要赔",
        # a question about when or whether (the learned score is not asked)
        "燃气管道是不是要每年检查",
        "村里的沼气池啥时候能修好",
    ],
)
def test_round19_things_weather_deaths_and_questions_are_not_emergencies(text: str) -> None:
    assert safety.detect(text).kinds == ()


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        # a clause that starts with "now" after a question; not recognising people; 呢 after a lasting state
        ("物业费的事怎么投诉 现在楼下的车烧起来了", ("119",)),
        ("外公刚才突然不认得我了", ("120",)),
        ("他拿着菜刀在门外等着呢", ("110",)),
        # a gang at the gate or around a person; smashing one's car now; a live call where one cannot shout
        ("讨债的叫了一帮人把我家院门围了", ("110",)),
        ("被一群人围住了 走不掉", ("110",)),
        ("他又在砸我的车 说要上楼", ("110",)),
        ("他在屋里打我 你能听见吗", ("110", "12338")),
        # outside a railing (first person even inside a question; anyone at all), locked in alone, charcoal and
        # sealed windows
        ("我站在楼顶栏杆外面 想问问我的保险受益人是谁", ("110", "120", "12356")),
        ("有个女的翻过桥上的栏杆了", ("110", "120", "12356")),
        ("儿子把自己反锁在房间里 叫不应", ("110", "120", "12356")),
        ("他把窗户都封死了 屋里点着炭盆", ("110", "120", "12356")),
        # a flooded street, swept down, sunk, a child gone at the water's edge
        ("街上积水到大腿 我爷爷被冲倒了", ("110", "120")),
        ("山洪把我叔冲下去了", ("110", "120")),
        ("有个小孩沉到河底了", ("110", "120")),
        ("孩子不见了 水库边上有他的拖鞋", ("110", "120")),
        # (seeing a danger and running for help is not "whenever I see it I feel ill")
        ("我看见孩子掉进鱼塘里就跑过来叫人", ("110", "120")),
        # Cantonese (噎亲, 面…紫晒, 入咗嚟, 匿埋), Wu (勿响), Shaanxi (额们, 着咧), homophones (燃汽, 遭电打)
        ("细路食嘢噎亲 面都紫晒", ("120",)),
        ("有贼入咗嚟 我匿埋喺床底", ("110",)),
        ("阿爷跌了一跤 勿响了", ("120",)),
        ("额们屋后头的柴垛着咧", ("119",)),
        ("燃汽泄露了 满屋都是味", ("119",)),
        ("我爸遭电打了 倒在地上", ("120",)),
        # a person hit by a vehicle, a pile-up, someone still inside an overturned vehicle
        ("我妈在路口被一辆三轮车撞了", ("122", "120")),
        ("隧道里连环追尾 有人困在车里", ("122", "120")),
        ("车翻到沟里了 里面还有人", ("122", "120")),
        # a child locked in a car, CPR being done, the sleepers behind a door that is not opened
        ("有个宝宝被锁在车里 大人不在", ("120",)),
        ("有人倒在超市门口 保安正在做心肺复苏", ("120",)),
        ("奶奶屋里生着煤炉 早上敲门不应", ("120",)),
        # a burglar inside, a driver off the route, a house pushed down with people inside, being followed
        ("小偷进屋了 我躲在床底下", ("110",)),
        ("网约车司机不走导航 往荒地里开", ("110",)),
        ("铲车正在推我家的房子 人还在里面", ("110",)),
        ("有个男的跟了我两条街", ("110",)),
        # fire spouting from a window; a tank leaking out now
        ("对面厂房窗户往外窜火", ("119",)),
        ("液化气的罐子倒了 还在往外漏", ("119",)),
    ],
)
def test_round20_classes_of_wording_get_their_numbers(text: str, numbers: tuple[str, ...]) -> None:
    given = safety.detect(text).numbers
    assert set(numbers) <= set(given), given


@pytest.mark.parametrize(
    "text",
    [
        # laughter with vague distress; a hypothetical (比方说); games, a rout at cards, making an example (拿我开刀)
        "笑得我快不行了 这个段子太逗了",
        "比方说有人拿刀闯进店里 店主能还手吗",
        "游戏里我的角色被人砍死了",
        "打麻将被杀了个片甲不留",
        "老板拿我开刀 扣了我三天工资",
        # exhaustion or annoyance as the cause, a disclaimer, ending a matter (了结纠纷)
        "烦死了不想活了 单位的破事",
        "这些钱还不上还不如去死 我说说气话而已",
        "想了结这桩纠纷 怎么走程序",
        # how-to and prevention, a song that hooks, which number to call, a bad egg, dates that clash
        "孩子掉水里怎么自救",
        "家里烧煤怎么防止煤气中毒",
        "这首歌太上头了 听得中毒了",
        "煤气泄漏了该打119还是打燃气公司的电话",
        "买的咸鸭蛋一股臭鸡蛋味 商家不给退",
        "考试撞期了 选哪个",
        # a landlord who does nothing, a bill that makes one dizzy, a past flood contrasted with now
        "屋里霉味重 房东不管",
        "一看到账单就头晕",
        "那年发大水冲走的地 现在地界不清",
        # what the new classes must not reach: a parked car at the gate, a car (not a person) hit, a falling
        # object, mahjong as the place of a fraud, a long-serving employee
        "停车把我家大门堵了 物业不管",
        "我的车被货车撞了 保险怎么报",
        "高空坠物砸坏了我的车 找谁",
        "烤着炭火打麻将的时候被人骗了钱",
        "跟了我十年的员工要辞职",
        "这徒弟跟了我好几个月了 工资谁发",
        "这事让我走不出来",
        "村里要强拆我家房子",
        "晾的被子挂在阳台外面被风吹走了 物业管不管",
        "小区积水到小腿 物业也不来抽水",
        # a person hit by a vehicle, told as a dispute about who was at fault
        "我妈被电动车撞了 司机说是我妈自己摔的",
    ],
)
def test_round20_jokes_how_to_and_look_alikes_are_not_emergencies(text: str) -> None:
    assert safety.detect(text).kinds == ()


# Round 21's misses, by class: new sentences of each class, not round 21's own.
@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        # framing words that are not framing: a bedridden person in a fire, the intensifier 死死的, 怎么办呢 asking
        # what to do now, someone met online, running after someone (追过去了), the TV set smashed
        ("厨房烧起来了 我婆婆瘫在床上动不了", ("119", "120")),
        ("孩子浑身发紫 手攥得死死的 叫不应", ("120",)),
        ("我爸倒在院子里了 嘴歪了 怎么办呢", ("120",)),
        ("网上聊的那个男的把我锁在出租屋里了", ("110",)),
        ("我老公拿着棍子打我 我往外跑 他追过去了", ("110", "12338")),
        ("我老公把电视摔了 现在拿板凳砸我", ("110", "12338")),
        # a legal question before first-person pills already taken or last words at the water
        ("我想问离婚房子怎么分 算了 我已经把一瓶安眠药都吃了", ("110", "120", "12356")),
        ("我想问下遗嘱怎么写才有效 我到了河边了 发完这条就跳", ("110", "120", "12356")),
        # an old complaint, then the smell strong now; an old accident, then a new one today
        ("燃气公司一直不来检修 之前打过好几次电话 现在厨房里煤气味特别冲", ("119",)),
        ("上回的车祸还在打官司 结果刚才我爸又被一辆三轮车碰倒了 躺着起不来", ("122", "120")),
        # the flame out while the gas still flows; a gas alarm sounding now
        ("煤气灶的火被风吹灭了 气还在往外冒", ("119",)),
        ("家里的燃气报警器一直在响 屋里没人", ("119",)),
        # voice slips: 抽疯, 中疯, 家报, 就护车
        ("我孙子抽疯了 口吐白沫", ("120",)),
        ("老伴好像中疯了", ("120",)),
        ("家报了 他正在踢我", ("110", "12338")),
        ("我爸没有心跳了 快叫就护车", ("120",)),
        # an ex-spouse named by the divorce; locked in a room by someone at home
        ("离了婚的那个又来了 在楼道里掐我脖子", ("110", "12338")),
        ("他把我关在房间里两天了 不给吃饭 孩子在哭", ("110", "12338")),
        # object-before-verb Mandarin of minority regions (棍子拿着); a driver who hit someone; a truck over a worker
        ("那个人棍子拿着 我们的羊圈里 阿爸打了", ("110",)),
        ("我刚才开车撞了个骑车的 他流血了", ("122", "120")),
        ("一辆铲车把我们班长轧了", ("122", "120")),
        # someone fallen off a boat, someone gone with only his things left at the water
        ("渡船上有个老人掉下去了", ("110", "120")),
        ("我叔去河边放网 天黑了没回来 河边只剩他的电动车", ("110", "120")),
        # a kang's smoke blowing back, people muddled; someone saying he will jump; a farewell to the world
        ("炕洞倒烟 我爹我娘都迷糊了", ("120",)),
        ("我表哥站在厂房顶上 说要往下跳", ("110", "120", "12356")),
        ("她发消息说要和这个世界道别", ("110", "120", "12356")),
        ("他说最后一次给我打钱 人在大桥上", ("110", "120", "12356")),
        # a stroke: one side of the body, cannot say a word; a smell of rotten eggs by the stove
        ("我奶奶一边身子不会动了 话都说不出来", ("120",)),
        ("厨房一股怪味 灶那边嘶嘶响", ("119",)),
    ],
)
def test_round21_classes_of_wording_get_their_numbers(text: str, numbers: tuple[str, ...]) -> None:
    given = safety.detect(text).numbers
    assert set(numbers) <= set(given), given


@pytest.mark.parametrize(
    "text",
    [
        # an idiom (老房子着火), games and team-mates, a thing that "cannot get over it", a draught or a lisp
        "我妈说我爸这是老房子着火 七十了还要找老伴",
        "打游戏的时候队友说要弄死我 哈哈",
        "我这台电脑想不开了 天天蓝屏",
        "窗户漏风 房东不修",
        # first-person despair disclaimed afterwards
        "前天我说想死 那是气话 现在想问问欠款能不能分期",
        # how to tell, what to buy, whether a thing may be kept somewhere, a life like a disaster, paperwork
        "怎么检测家里燃气有没有泄漏",
        "煤气罐能不能放在卧室里",
        "我的日子就像被洪水冲过一样 啥也没剩",
        "在外打工社保怎么交",
        # what the new classes must not reach: a bare "hit someone" in a question, things someone left, a TV show
        "无人驾驶的车撞了人 算谁的",
        "河边只剩几个钓鱼的了 能不能去钓",
        "电视剧里他把老婆关在屋里 后来呢",
    ],
)
def test_round21_look_alikes_are_not_emergencies(text: str) -> None:
    assert safety.detect(text).kinds == ()
