"""Text normalisation before the emergency rules: the same danger typed many ways reads the same.

Full-width letters and digits (NFKC), traditional characters, spaced-out or 、-separated single
characters (着 火 了, 他、现、在), common typos and homophones (着伙, 救名, 天燃气, 云倒), dialect words
(走水, 屋头, 俺; Cantonese 佢/咗/劈友; Hokkien 阮翁/拍甲), pinyin and a few English words are mapped to
one spelling. Punctuation and whitespace between words become
"，" so that the rules can tell clauses apart. Pure Python: imported by the Rasa and the action server.
"""

from __future__ import annotations

import re
import unicodedata

# Traditional → simplified, only for characters that occur in the rules or around them.
_TRADITIONAL_PAIRS = (
    "著着 燒烧 傷伤 殺杀 報报 醫医 車车 禍祸 氣气 樓楼 藥药 農农 暈晕 門门 裡里 裏里 頭头 媽妈 們们 現现 "
    "來来 說说 會会 這这 麼么 個个 還还 沒没 過过 時时 後后 動动 斷断 煙烟 熱热 衝冲 緊紧 電电 觸触 "
    "墜坠 鬥斗 毆殴 腳脚 槍枪 搶抢 綁绑 陽阳 臺台 遊游 滅灭 災灾 險险 幫帮 戶户 開开 關关 閥阀 爐炉 "
    "塊块 嚴严 從从 壓压 嗎吗 讓让 別别 聽听 兒儿 邊边 對对 壞坏 難难 問问 題题 錢钱 賠赔 審审 罰罚 "
    "當当 訴诉 決决 條条 據据 經经 歲岁 嗆呛 燙烫 廠厂 庫库 場场 鄰邻 爺爷 橋桥 貨货 溝沟 隊队 護护 "
    "繩绳 臉脸 將将 為为 於于 邊边 淚泪 喪丧 憂忧 鬱郁 錯错 車车 輛辆 騎骑 駕驾 摩摩 壩坝 庫库 漁渔 "
    "溺溺 淹淹 瓦瓦 漏漏 罐罐 嘔呕 嚇吓 搶抢 掃扫 報报 罵骂 鬧闹 揮挥 擊击 術术 劑剂 瓶瓶 片片"
)
_TRADITIONAL = str.maketrans({pair[0]: pair[1] for pair in _TRADITIONAL_PAIRS.split()})

# Typos, homophones and dialect → the spelling the rules use (applied in this order).
SPELLINGS: tuple[tuple[str, str], ...] = (
    ("着伙", "着火"), ("起伙", "起火"), ("失伙", "失火"), ("走水", "着火"),
    ("着活了", "着火了"), ("起活了", "起火了"),
    # voice input: convulsions and stroke written with 疯 (抽疯, 中疯)
    ("抽疯", "抽风"), ("中疯", "中风"),
    ("天燃气", "天然气"), ("煤汽", "煤气"), ("天然汽", "天然气"), ("燃汽", "燃气"), ("液化汽", "液化气"),
    ("沼汽", "沼气"), ("泄露", "泄漏"),
    # struck by electricity (遭电打了), in any dialect's words
    ("遭电打", "被电到"), ("被电打", "被电到"),
    ("没得", "没有"),
    ("屋里头", "屋里"), ("屋头", "屋里"), ("遭打", "被打"), ("挨打", "被打"), ("遭车", "被车"), ("遭人", "被人"),
    ("整死", "弄死"), ("搞死", "弄死"),
    ("俺们", "我们"), ("俺", "我"), ("咱家", "我家"),
    ("咋个", "怎么"), ("咋办", "怎么办"), ("咋整", "怎么办"), ("咋", "怎么"), ("莫得", "没有"),
    ("遭不住", "受不了"), ("削我", "打我"),
    # Cantonese written as spoken (佢晕低咗, 劈友, 唔想再活落去): the words the rules read, in Mandarin.
    # (before 唔 → 不) cannot speak (唔识讲嘢), not moving (唔郁), cannot move (郁唔到)
    ("唔识讲嘢", "不会说话"), ("讲唔到嘢", "说不出话"), ("唔郁", "不动"), ("郁唔到", "动不了"),
    # is (成屋都系烟), come (出唔嚟, 入咗嚟), hide (匿喺衣柜)
    ("都系", "都是"), ("全系", "全是"), ("入咗嚟", "进来了"), ("入嚟", "进来"), ("嚟", "来"),
    ("匿喺", "躲在"), ("匿埋", "躲起来"),
    ("佢", "他"), ("咗", "了"), ("唔", "不"), ("冇", "没"), ("喺", "在"), ("屋企", "家里"), ("俾人", "被人"),
    ("劈友", "砍人"), ("劈人", "砍人"), ("快啲", "快点"), ("落去", "下去"), ("晕低", "晕倒"), ("跌亲", "摔倒"),
    ("点算", "怎么办"),
    # 亲 after a verb is hurt by it (噎亲 choked, 烫亲, 撞亲, 整亲); 晒 after a colour is "all" (面都青晒);
    # 面 is the face only before a colour; 揸 holding, 畀 a passive like 俾, 紧 after a verb is "in the middle
    # of" (流紧血, 打紧我)
    ("噎亲", "噎着"), ("烫亲", "烫伤"), ("撞亲", "撞伤"), ("整亲", "弄伤"), ("青晒", "青了"), ("紫晒", "紫了"),
    ("面都青", "脸都青"), ("面都紫", "脸都紫"), ("面青", "脸青"), ("面紫", "脸紫"), ("揸住", "拿着"), ("揸", "拿"),
    ("畀人", "被人"), ("流紧血", "在流血"), ("打紧", "在打"),
    # Hokkien-influenced Mandarin (阮翁拍我, 拍甲流血, 紧报警): 拍 alone stays (拍照), only these phrases.
    ("阮翁", "我老公"), ("阮尪", "我老公"), ("阮兜", "我家"), ("阮厝", "我家"), ("拍甲", "打得"),
    ("紧报警", "快报警"), ("紧来", "快来"), ("无气", "没气"),
    # A slip that is a common word alone (逆水行舟) but not with the aspect marker.
    ("逆水了", "溺水了"),
    # More Cantonese: they, now, just now, still, inside, outside, fire, child, taxi, a passive 俾 (俾的士撞咗),
    # cannot get up (起唔到身), holding (拎住), says (话要).
    ("佢哋", "他们"), ("我哋", "我们"), ("哋", "们"), ("而家", "现在"), ("啱啱", "刚刚"), ("仲有", "还有"),
    ("仲喺", "还在"), ("喺入面", "在里面"), ("入面", "里面"), ("喺出面", "在外面"), ("火烛", "着火"),
    ("细路", "小孩"), ("细人仔", "小孩"), ("俾", "被"), ("的士", "出租车"), ("拎住", "拿着"), ("话要", "说要"),
    # Wu (Shanghainese): we / my, they, at home, inside, not (勿想活, 动勿了), mum, this.
    ("勿响", "不说话"), ("闭牢", "闭着"),
    ("阿拉", "我"), ("伊拉", "他们"), ("屋里厢", "屋里"), ("里厢", "里面"), ("勿", "不"), ("姆妈", "妈"),
    ("搿个", "这个"), ("老早辰光", "以前"), ("辰光", "时候"),
    # Hakka: I (𠊎), at home (屋下), last year (旧年).
    ("𠊎", "我"), ("屋下", "家里"), ("旧年", "去年"),
    # Min: husband (尪), in (佇), inside (内底), cannot (袂), again / in the middle of (閣咧, 咧), house (厝),
    # want (欲), earlier (以早).
    ("我尪", "我老公"), ("尪", "老公"), ("佇", "在"), ("内底", "里面"), ("出袂来", "出不来"), ("袂", "不"),
    ("閣咧", "又在"), ("阁咧", "又在"), ("咧拍", "在打"), ("又在拍", "又在打"), ("厝", "屋"), ("以早", "以前"),
    # Gan / Xiang: a child (伢崽, 伢子), a husband (老倌子), a wife (堂客).
    ("伢崽", "小孩"), ("伢子", "小孩"), ("去哒", "去了"), ("走哒", "走了"),
    # Northeastern and southwestern: a three-wheeler (三马子), smoke (烟子), fighting (干起来了).
    # Shaanxi / Gansu: we (额们), 咧 as 了 after a verb (着咧)
    ("额们", "我们"), ("着咧", "着了"),
    ("三马子", "三轮车"), ("烟子", "烟"), ("干起来了", "打起来了"),
)

# Pinyin typed when the input method is switched off (zhao huo le, 我bu想活了): the danger words and the few
# syllables that glue them, with or without spaces between syllables.
PINYIN: tuple[tuple[str, str], ...] = (
    ("zhao huo", "着火"), ("qi huo", "起火"), ("shi huo", "失火"), ("jiu huo", "救火"), ("jiu ming", "救命"),
    ("kuai lai ren", "快来人"), ("bao jing", "报警"), ("yun dao", "晕倒"), ("hun dao", "昏倒"),
    ("hun mi", "昏迷"), ("che huo", "车祸"), ("zhuang ren", "撞人"), ("shou shang", "受伤"), ("liu xue", "流血"),
    ("zi sha", "自杀"), ("tiao lou", "跳楼"), ("tiao he", "跳河"), ("bu xiang huo", "不想活"), ("xiang si", "想死"),
    ("jia bao", "家暴"), ("sha ren", "杀人"), ("da ren", "打人"), ("luo shui", "落水"), ("ni shui", "溺水"),
    ("zhong du", "中毒"), ("mei qi", "煤气"), ("lou qi", "漏气"), ("tian ran qi", "天然气"), ("ran qi", "燃气"),
    ("xie lou", "泄漏"), ("wei dao", "味道"), ("jiao bu xing", "叫不醒"), ("lao gong", "老公"), ("lao po", "老婆"),
    ("da wo", "打我"), ("sha wo", "杀我"), ("na dao", "拿刀"),
    # who and when: a husband or child, "again", "now", "cannot get out", water, waking
    ("nan ren", "男人"), ("zhang fu", "丈夫"), ("hai zi", "孩子"), ("you zai", "又在"), ("zheng zai", "正在"),
    ("xian zai", "现在"), ("chu bu qu", "出不去"), ("chu bu lai", "出不来"), ("diao jin", "掉进"),
    ("shui tang", "水塘"), ("xing bu lai", "醒不来"), ("jiu wo", "救我"),
    # the framing words of a question typed in pinyin (ta qu nian zi sha le bao xian pei ma)
    ("qu nian", "去年"), ("bao xian", "保险"), ("zen me", "怎么"), ("ji jiu", "急救"), ("pei chang", "赔偿"),
    ("biao zhun", "标准"), ("duo shao", "多少"), ("qi su", "起诉"), ("li hun", "离婚"), ("de", "的"), ("ma", "吗"),
    ("bu", "不"), ("le", "了"), ("wo", "我"),
)
# English words in a mixed message (my husband 在打我, car accident … bleeding), whole words only.
ENGLISH: tuple[tuple[str, str], ...] = (
    ("i want to die", "我想死"), ("kill myself", "自杀"), ("suicide", "自杀"), ("my husband", "我老公"),
    ("husband", "老公"), ("my wife", "我老婆"), ("has a knife", "拿着刀"), ("with a knife", "拿着刀"),
    ("knife", "刀"), ("car accident", "车祸"), ("accident", "事故"), ("bleeding", "流血"),
    ("not breathing", "没有呼吸"), ("unconscious", "昏迷"), ("fire", "着火"), ("gas leak", "漏气"),
)
_ENGLISH = tuple((re.compile(r"(?<![a-z])" + words + r"(?![a-z])"), hanzi) for words, hanzi in ENGLISH)
_PINYIN = tuple(
    (re.compile(r"(?<![a-z])" + r"\s*".join(syllables.split()) + r"(?![a-z])"), hanzi) for syllables, hanzi in PINYIN
)

# Homophone slips in the danger words themselves (割婉, 婚倒, 车或, 中独): the input method offers a
# character of the same sound. Every one-character slip of these words is mapped back to the word;
# a group holds characters of one sound, leaving out those whose slip makes a common word (没气,
# 逆水, 受上), and words whose slips do (火在, 就火了, 务农要).
DANGER_WORDS = (
    "割腕", "车祸", "昏倒", "昏迷", "晕倒", "中毒", "救命", "自杀", "跳楼", "溺水", "家暴", "报警",
    "喝药", "安眠药", "着火", "失火", "起火", "叫不醒", "救护车",
)
HOMOPHONE_GROUPS = (
    "腕婉碗晚弯", "昏婚荤", "祸获货或", "药要约", "毒读独", "救就旧", "命名明", "杀沙刹", "楼搂喽",
    "暴爆抱报", "报抱爆", "倒到道", "割歌隔", "跳挑", "迷谜", "溺腻",
    "晕云", "醒行星",
)


def _slips() -> tuple[tuple[str, str], ...]:
    sounds = {c: group for group in HOMOPHONE_GROUPS for c in group}
    slips = {}
    for word in DANGER_WORDS:
        for i, c in enumerate(word):
            for other in sounds.get(c, ""):
                if other != c:
                    slips.setdefault(word[:i] + other + word[i + 1 :], word)
    return tuple(sorted(slips.items(), key=lambda pair: -len(pair[0])))


HOMOPHONE_SLIPS = _slips()

_SEPARATORS = re.compile(r"[\s、·•…~～_*#]+")
_CLAUSE = re.compile(r"[，,。.!！?？；;：:\n]+")


def _join_spelled_out(text: str) -> str:
    """Runs of single characters separated by spaces or 、 are joined (着 火 了 → 着火了); other
    separators split clauses."""
    out: list[str] = []
    previous_single = False
    for token in _SEPARATORS.split(text):
        if not token:
            continue
        single = len(token) == 1
        if single and previous_single:
            out[-1] += token
        else:
            out.append(token)
        previous_single = single
    return "，".join(out)


def normalise(text: str) -> str:
    """One spelling for the rules: NFKC, lower case, simplified, clauses joined by "，"."""
    text = unicodedata.normalize("NFKC", text or "").lower().translate(_TRADITIONAL)
    if re.search(r"[a-z]", text):
        for pattern, hanzi in _ENGLISH:
            text = pattern.sub(hanzi, text)
        for pattern, hanzi in _PINYIN:
            text = pattern.sub(hanzi + "\0", text)
        # Syllables typed apart (zhao huo le) make one word again; the marker is only for this.
        text = re.sub(r"\0\s+(?=[^\s\0]+\0)", "", text).replace("\0", "")
    text = _CLAUSE.sub("，", _join_spelled_out(text)).strip("，")
    for wrong, right in SPELLINGS:
        text = text.replace(wrong, right)
    for wrong, right in HOMOPHONE_SLIPS:
        if wrong in text:
            text = text.replace(wrong, right)
    return text
