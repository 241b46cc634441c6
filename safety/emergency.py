"""Emergency detection: which danger a message reports, and which numbers to call first.

Plain, reviewable rules (legal-aid staff read this file): for each kind of danger a list of trigger
patterns, applied to the normalised text (see ``normalise.py``). A trigger counts unless

* it is negated (没着火, 没人受伤, 火已经灭了), or
* the message frames it as something else — a legal question (赔不赔, 能起诉吗, 归谁, 判了), the past
  (去年, 上个月, 以前), a hypothetical (如果, 万一) or news (新闻, 听说) — and nothing says it is
  happening now (正在, 还在, 刚刚, 救命, 快来人, 今晚…).

Some triggers are *strong*: a first-person wish to die, 救命, a call for the police. They count even
inside a legal question (我想死 老公出轨 能离婚吗) and are only cancelled by negation — except a bare plea
(救命, 快来人) that names no danger and only money or property (救救我 工资半年没发了): that is hyperbole. A missed
emergency costs far more than an extra 110 reminder, so when in doubt the rules fire.

Pure Python with no project or third-party imports: the Rasa NLU component and the action server
both use it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from safety import score
from safety.normalise import normalise

# ---------------------------------------------------------------------------------------------
# Kinds and their numbers, most urgent number first.
# ---------------------------------------------------------------------------------------------
FIRE = "fire"  # 119
FIRE_TRAPPED = "fire_trapped"  # fire with people inside, trapped or hurt: 119 + 120
MEDICAL = "medical"  # 120
VIOLENCE = "violence"  # violence, threats, crime in progress: 110
DOMESTIC = "domestic"  # violence at home: 110 + 12338 (women's and children's rights line)
SELF_HARM = "self_harm"  # 110 / 120 + 12356 (national psychological assistance hotline)
DROWNING = "drowning"  # 110 + 120
GAS_POISONING = "gas_poisoning"  # carbon monoxide / gas poisoning: 120
GAS_LEAK = "gas_leak"  # gas leak: 119
TRAFFIC = "traffic"  # traffic accident with injuries: 122 + 120
UNSPECIFIED = "unspecified"  # 救命 / 救救我 without saying what: 110 + 120

NUMBERS: dict[str, tuple[str, ...]] = {
    SELF_HARM: ("110", "120", "12356"),
    FIRE_TRAPPED: ("119", "120"),
    FIRE: ("119",),
    GAS_LEAK: ("119",),
    GAS_POISONING: ("120",),
    DROWNING: ("110", "120"),
    TRAFFIC: ("122", "120"),
    DOMESTIC: ("110", "12338"),
    VIOLENCE: ("110",),
    MEDICAL: ("120",),
    UNSPECIFIED: ("110", "120"),
}
# Order in which kinds (and so their numbers) are listed when a message reports several.
KINDS: tuple[str, ...] = tuple(NUMBERS)
# For the operator queue and the statistics (staff read these).
KIND_NAMES: dict[str, str] = {
    SELF_HARM: "自伤自杀", FIRE_TRAPPED: "火灾有人被困", FIRE: "火灾", GAS_LEAK: "燃气泄漏",
    GAS_POISONING: "煤气中毒", DROWNING: "溺水", TRAFFIC: "交通事故伤人", DOMESTIC: "家庭暴力",
    VIOLENCE: "暴力威胁", MEDICAL: "急病受伤", UNSPECIFIED: "未说明的危险",
}

# ---------------------------------------------------------------------------------------------
# Triggers per kind. Each entry is a regular expression on the normalised text.
# ---------------------------------------------------------------------------------------------
_WEAPON = (
    r"(刀|菜刀|砍刀|柴刀|刀子|匕首|斧头|斧子|棍|棒|枪|锄头|镰刀|砖|钢管|铁锹|铁棍|剪刀|汽油|锤|酒瓶|瓶子|硫酸|钢筋|扁担|叉|板凳|凳子|皮带)"
)
_PERSON = (
    r"(我|人|他|她|咱|孩子|娃|小孩|老人|全家|一家|弟|妹|哥|姐|爸|妈|爹|娘|儿|女|孙|老板|老师|邻居|大爷|"
    r"大妈|老婆|老公|媳妇|男人|闺女|朋友|同学|工友|司机)"
)
_HURT_VERB = r"(打|砍|杀|捅|揍|捶|掐|踢|踹|砸|勒|抽|刺|扎|锤|削|劈|扇)"
# 打 that is not violence: 打工, 打官司, 打电话, 打牌…
_NOT_HITTING = r"(?![工官牌电扫听算开球针游麻车印卡折包款钱井字招量理交水饭猎鱼伞气仗听])"
_FAMILY = (
    r"(老公|丈夫|老婆|妻子|媳妇|男人|女人|那口子|我爸|我妈|爸爸|妈妈|后爸|后妈|继父|继母|儿子|女儿|闺女|"
    r"婆婆|公公|公婆|婆家|娘家|男朋友|女朋友|对象|前夫|前妻|女婿|儿媳|老汉|爹|我娘|老头子|老太婆|"
    r"孩子他爸|孩子爸|娃他爹|娃他爸|孩他爹|孩他爸|孩他妈|娃他妈|家暴|小两口|两口子|夫妻|当家的|我男的|我家男的|"
    r"我家那位|老伴|前男友|前女友|男友|女友|姐夫|妹夫|嫂子|弟媳|大伯子|小叔子|老倌|堂客|婆娘|婆姨|屋里人|"
    # an ex-spouse named by the divorce (离了婚的那个人又来了)
    r"离了婚的|离婚的那个|离了的那个)"
)
_INJURED = (
    r"(血|受伤|伤了|伤着|重伤|断了|动不了|不动|不说话|躺|倒地|倒在|起不来|站不起来|压(在|住|着)|卡(在|住)|困在|"
    r"昏|晕|不行了|出不来|没气|没反应|没动静|人事不省|不省人事|喊|救命|死|哭(?!的)|(压|卡)(在)?(底下|下面|车底)|起不(来|了身|到身)"
    # someone still inside (一个车翻在沟里 里面有人在动) or under a vehicle (人还在车底下)
    r"|(里面|车里|车内)(还)?有人|在车(底|轮)(下|底下|子下))"
)
_VEHICLE = (
    r"(车|拖拉机|三轮|三蹦子|蹦蹦|摩托|货车|校车|客车|电动车|电瓶车|大巴|卡车|面包车|轿车|农用车|"
    r"收割机|铲车|挖掘机|出租车|公交|班车|皮卡|渣土车|泥头车|罐车|三马)"
)
# What a vehicle does to a person (撞, 刮倒, 别倒, 带倒, 碾) and a rider's fall (骑摩托摔下去).
_HIT_BY_VEHICLE = r"(撞|刮|碰|蹭|别|挂|带|顶|铲|碾|轧|挤|夹|压|卷|拖)"
_RIDER_FALL = r"(骑|开|坐|驾)[^，]{0,3}" + _VEHICLE + r"[^，]{0,8}(摔|翻|掉|滑|栽|冲)(了|倒|下|进|出|到)"
_ACCIDENT = (
    rf"(车祸|交通事故|撞车|追尾|相撞|连环(撞|追尾)|被[^，]{{0,4}}撞|车撞|撞(了|倒|死|伤|飞|到)?(人|我)|撞飞|翻车|车翻|侧翻|出了?事故|"
    rf"(摔|翻|掉|开|冲|撞)(进)?沟|撞(树|墙|电线杆|护栏)|车头|甩出来|"
    rf"{_VEHICLE}[^，]{{0,8}}(翻|撞|出事|碾|轧|掉)|(被|让|叫|给)[^，]{{0,6}}{_VEHICLE}[^，]{{0,2}}{_HIT_BY_VEHICLE}|{_RIDER_FALL}|刹(不住|车失灵)|"
    rf"{_VEHICLE}[^，]{{0,8}}(冲进|冲向|冲到|开进|撞进)[^，]{{0,6}}人|"
    rf"{_VEHICLE}[^，]{{0,6}}把[^，]{{0,8}}{_HIT_BY_VEHICLE}|冲(下|出|进)[^，]{{0,2}}(山坡|坡|山崖|悬崖|桥|河|沟|路面|护栏)|"
    rf"(卷|拖|压|碾|轧)(到|进|在)[^，]{{0,2}}(车|轮)(底|子|下))"
)
_POISON = r"(农药|敌敌畏|百草枯|安眠药|老鼠药|除草剂)"
# Sources of carbon monoxide / gas, and what poisoning looks like.
_FUMES = (
    r"(煤气|沼气|燃气|天然气|液化气|烧炭|炭火|煤炉|炉子|烤火|烤炭|热水器|生火|火盆|炭盆|烧煤|煤球|蜂窝煤|"
    r"毒气|有毒气体|瓦斯|硫化氢|化粪池|下水道|窨井|井下|地窖|菜窖|窖|(粪|污水|腌菜|沼气|发酵|酱)池|污水井|发电机|锅炉|没熄火|"
    r"炕|烟倒灌|倒烟)"
)
_FUME_SYMPTOMS = (
    r"(中毒|头晕|头昏|头痛|头疼|晕|想吐|呕吐|吐了|倒|叫不醒|喊不醒|不醒|没反应|走不了路|浑身无力|起不来|起不了|"
    r"樱桃红|不吭声|不吱声|迷糊|不答应|不应|没(有)?上来|没出声|恶心|睡过去|躺(在)?地(上|下)|敲门[^，]{0,2}不(开|应))"
)
_WATER = r"(河|水|塘|鱼塘|池塘|陂塘|水库|井(?!盖)|粪坑|粪池|江|湖|海|沟|水沟|水渠|渠|冰窟窿|冰窟|堰|澡盆|浴缸|水缸)"

TRIGGERS: dict[str, tuple[str, ...]] = {
    FIRE: (
        r"(?<!防)救火(?!队|员)|着火|起火|失火|火灾|起大火|大火|火烧|烧起来|燃起来|烧着|着起来|冒火|火苗|火势|火光|明火|纵火|放火",
        r"火，?(好|很|太|这么|那么|越来越|越烧越)大|越烧越|灭不了|扑不灭|浇不灭|点了?火(?!器|机|枪)|爆炸了|(?<![太真好超都气])(?<!脑子要)(?<!脑袋要)(?<!头要)(?<!我要)(?<!我快)炸了",
        r"烧到(?![0-9一二三四五六七八九十几]+度)",
        r"(全是|都是|满屋|满屋子|一屋子|好大|好多|很大|很浓|黑|浓|冒)(的)?烟|(冒|窜|往外冒|起)(大|黑|浓|白)烟|烟(好|很|太|特别)?(大|浓|呛)|门(都|好|很)?烫",
        r"(房子|屋子|屋|楼|厂房|店|小卖部|仓库|草垛|柴|车|山|林|棚)(在|都|全)?烧(了|着|起来)",
        r"(被子|床|车|房|柴|草|衣服|窗帘|电线|锅|油|沙发|蚊帐|炉子)[^，]{0,3}(点着|着了|烧着)|火[，]?火|火星|焦味|烧焦|糊味",
        r"把[^，]{0,4}(被子|床|房子|屋子|柴|草|衣服|窗帘|沙发|蚊帐|草垛|柴火|麦秸|稻草)[^，]{0,2}点(了|着|燃)",
        r"一片火|大片火|火(往|朝)|烧(过来|进来|到这)|自燃|烧(没|塌|穿)了|烧到(二|三|四|五|楼|屋|房)",
        # what a fire looks and sounds like without the word: smoke pouring out, a thing catching, crackling,
        # water that does not put it out, a door handle too hot to touch
        r"烟[^，]{0,4}(冒|窜|涌|灌|钻)(出来|进来|上来|出|进)|烟[^，]{0,4}往(外|上|里|屋里|楼道)(冒|窜|涌|灌|钻)|(膜|棚|草|垛|麦|稻|林|柴|帘|秸秆|麦秸)(子)?着了",
        r"(往外|往上|往下|往里)(喷|窜)火|窜火|(窗|门|屋|楼|房|车|管)[^，]{0,3}喷火|火大得(很|不得了|吓人)|烧得(噼里啪啦|噼啪|呼呼|很旺|好旺|旺)|(淋|浇|扑|泼|喷)(都)?不(熄|灭|下去)|熄不(了|灭|掉)|火[^，]{0,3}燎|门把手[^，]{0,3}烫",
    ),
    MEDICAL: (
        r"晕倒|昏倒|晕过去|昏过去|昏迷|晕了|人事不省|不省人事|叫[^，]{0,3}不(醒|应|答应)|没(有)?(反应|知觉|意识)",
        r"背过气|背过去了|晕厥|厥过去|羊角风|羊癫疯|犯病了|翻白眼|休克|一动不动|不动了|没动静|没(有)?(气|呼吸)了|没气(?![量质势场色魄概度氛])|喘不(上|过|来)|上不来气|透不过气|憋得|呼吸不(上来|过来|了)",
        r"呼吸困难|不能呼吸|没法呼吸|(脸|嘴唇|嘴)(都|发)?(紫|青)",
        r"抽搐|抽风|抽起来|眼睛[^，]{0,3}(往上)?翻|口吐白沫|吐白沫|冒白沫",
        r"中风|嘴歪|(半|一)边(脸|身子|身体)|说不出话|话[^，]{0,2}说不出(来)?|(身子|胳膊|手|腿)[^，]{0,2}不会动|倒地(了|不起)|口齿不清|脑溢血|脑出血|脑梗|心脏病(犯|发)|心口疼|胸口[^，]{0,2}(疼|痛|闷)",
        r"心梗|心跳(停|没)|没(有)?心跳|心脏骤停|噎住|噎着|卡(在|住)?(喉咙|嗓子)|呛奶",
        r"吞(下|了|进)[^，]{0,6}(硬币|电池|东西|骨头|鱼刺|珠子|磁铁|针)",
        r"(流|出|冒|吐|咳|喷)(了)?(好多|很多|一地|不少|这么多|满)?(的)?血|(满|一)(头|脸|身|地|手|嘴)(都|全)?(是)?血|(全|都|好多|很多)(是)?血",
        r"血(止不住|流不止|一直流|不停)|大出血|头破",
        r"被[^，]{0,6}(砸|压|夹|绞|卷)(了|伤|住|到|中|进)",
        r"倒下(了|去)|瘫(下去|倒|在地)|软下去|(叫|喊|拍|摇)[^，]{0,3}不(醒|应)|迷迷糊糊|神志不清|意识不清|不认人|不认(得|识)(人|我)",
        r"呼吸(好|很|特别)?(急|快|弱|困难)|(嘴|嘴唇|嘴巴|脸)[^，]{0,2}(紫|青|乌|发白)|血(喷|涌|哗哗|直流|一直)",
        r"误(喝|吃|服|食)|(吃|喝|吞)了[^，]{0,8}(洗洁精|消毒|洗衣液|干燥剂|电池|汽油|酒精|药水|好几颗|好多颗|一把)",
        r"在吐|一直吐|吐个不停|上吐下泻|一直抽|抽个不停|牙关|(蛰|蜇)了|全身起|浑身起",
        r"不行了|快不行|快死了|(站|爬)不起来|不会说话|说不了话|(手|胳膊|腿)[^，]{0,2}(抬不起来|动不了)|没醒|醒不过来|叫不醒",
        r"(被)?埋(在|了|住)|塌了|压在下面|过敏|(嗓子|喉咙|脸)[^，]{0,2}肿|喘不了气|心慌|冷汗|浑身发冷|止不住",
        r"要生了|羊水破|难产|怀孕[^，]{0,8}(出血|见红|疼|痛)|见红",
        r"触电|电着了|被电(了|到|倒)",
        # a child locked in a car (车里锁了个小娃), someone doing CPR now (老师在按胸口), no breath (没有气), a head
        # broken open or struck on a step, a limp body, lying still face down (趴起不动)
        r"(车里|车内)[^，]{0,6}(锁|关|困)[^，]{0,4}(孩子|小娃|娃|小孩|婴儿|宝宝)|(孩子|娃|小孩|宝宝)[^，]{0,4}(锁|关|困)(在)?车里"
        r"|(在|正在)(按|压)(胸口|胸)|(在|正在)做(心肺复苏|人工呼吸)|没有呼吸|(?<![家屋房罐瓶管灶])没有气(?![量质势场色魄概度氛费])"
        r"|(撞|摔|磕)破(了)?(头|额头|脑袋|脑壳)|(头|额头|脑袋|脑壳)[^，]{0,2}(撞|摔|磕)破"
        r"|头(撞|磕|摔)(在|到)[^，]{0,4}(台阶|地上|墙上|石头|桌角|水泥)|身子软(软的|了)|(趴|躺)(着|起)不动"
        # a fall followed by silence or stillness (跌了一跤…勿响了)
        r"|(跌|摔)(了)?(一)?跤.{0,12}?(不说话|不动|起不来|不醒|不应)",
        r"从[^，]{0,8}(上|顶)?(掉|摔|跌|栽|滚)(下来|下去|了下来)|躺着不动|躺(在)?地上不动",
        r"误(喝|吃|服)|吃(了)?老鼠药|中毒了|被(毒)?蛇咬",
        r"(疼|痛)得(要死|打滚|受不了|不行)|打滚|(开水|热水|热油|油锅)[^，]{0,4}烫|烫伤|烧伤",
        r"烧到[0-9一二三四五六七八九十]+度|高烧[^，]{0,6}(抽|不退|昏)|发烧[^，]{0,6}抽",
        r"(叫|喊|打|来|找|等)(个)?救护车|(快|赶紧|帮我)(叫|喊|打)?120|打120",
        # bleeding that pressing does not stop, heat stroke, slow breathing, cannot get up
        r"血[^，]{0,6}不住|流(个)?不停",
        r"栽倒|一头栽|说胡话|胡言乱语|浑身滚烫|中暑|(出气|喘气|呼吸)[^，]{0,2}(慢|弱|急|快)|(站|立|起)不起来|起不(了|到)身",
    ),
    VIOLENCE: (
        rf"{_HURT_VERB}{_NOT_HITTING}(着|了|得)?{_PERSON}(?![^，]{{0,2}}(座机|电话|手机|号码))",
        rf"(打|砍|捅|揍|捶|踢|砸){_NOT_HITTING}(晕|倒|伤|残|昏|趴)|打得",
        rf"把(我|人|他|她|孩子|娃)(?!家)[^，]{{0,8}}(打|砍|揍|捶){_NOT_HITTING}",
        r"把(我|人|他|她|孩子|娃)(?!家)[^，]{0,4}(头|脸|身子|脑袋)?往[^，]{0,6}(磕|撞|摔|砸|按|推|扔)",
        rf"((?<!家)用|拿|持|举|掏|抄|抵|提|握|挥|架|带|动|抡)(着|出|起|了)*(一)?(把|根)?{_WEAPON}",
        rf"{_WEAPON}(架|抵|顶|对着|指着|砍|捅|刺)",
        # the object before the verb, as Uyghur, Tibetan or Yi speakers order Mandarin (喝酒的人刀子拿着), and someone
        # locked in a room (他把我锁屋里三天了)
        rf"{_WEAPON}(子)?[^，]{{0,2}}(拿|提|举|握|挥|抡)着|把(我|她|他|人|孩子|娃)(反)?(锁|关)(在)?[^，]{{0,2}}(屋|房|家|厕所|柜|地下室)",
        r"(弄死|打死|砍死|杀死|炸死|掐死|捅死|杀了)(我|你|我们|全家|人|他|她|孩子|娃)",
        r"(要|想|说|扬言|就)(要)?(弄死|打死|砍死|杀了|杀死|炸死|掐死|捅死)|同归于尽|一起死|往死里打|要我的命|要我命",
        r"灭(我)?(全家|门)|逼我(喝|吃|跳)|(到处)?找(菜)?刀|摸(菜)?刀",
        r"烧死(我|你|我们|全家|人)|弄我|收拾我|废了(我|你)|(要|想)杀|杀人",
        rf"被(人|他|她|他们)?{_HURT_VERB}(了|伤|破|晕|倒|得)",
        rf"被[^，]{{1,6}}?{_HURT_VERB}{_NOT_HITTING}(了|伤|破|晕|倒|得|的|成)",
        r"抢劫|打劫|抢走|抢(孩子|娃)|抱走|拐走|拐跑|绑(起来|架|走|了)|劫持|挟持|(拖|拉|拽|塞|抓)(上|进)[^，]{0,8}车|带走了|抓走",
        r"(关|锁|困)(在|起来)|出不去|不让我(走|出|离开|下|回)|跟(着|踪)我|堵(在|住)|冲进|闯进|撬[^，]{0,4}(门|锁|窗)",
        r"(砸|踹|踢|撞)(我家|我们家|家)?(的)?门|打起来了|打群架|乱砍|追(着|过来|人|我|杀|砍)",
        r"非礼|强奸|性侵|猥亵|(又|在|正在|还在)动手|动手打|(拿|用)[^，]{0,4}(烟头|烙铁|开水|热油)[^，]{0,2}烫",
        r"(快|赶紧|帮我|马上)(点)?报警|(帮我|快)打110",
        # a weapon a word or two after the holding verb (提柴刀, 拎着酒瓶子), a blow aimed at the head,
        # someone held down and beaten, a chase, hiding from someone who is looking for you
        rf"(拿|提|拎|握|举|抄|抡|掏)(着|出|起|了|住)*[^，]{{0,3}}(?<!开){_WEAPON}|往[^，]{{0,6}}(头|脑|脸|身)[^，]{{0,3}}(削|砸|砍|捅|扎|抡|打)",
        r"(按|摁)(在|住|着)[^，]{0,4}(打|揍|踢|掐)|(按|摁)(在)?(地上|墙上|床上)|揪[^，]{0,2}头发|追(出来|上来|进来|出去)",
        r"躲(在|到|进)[^，]{0,8}.{0,12}?(他|她|人|他们)[^，]{0,4}(找我|等我|堵我|喊我|敲门|砸门|踢门|撬)",
        # a gang blocking or surrounding a house or a person (带人把我家大门堵了, 被几个混混围住了) and the threat not
        # to let one leave (让我走不出这个村); a parked car blocking a gate is not: a gang or "brought people" is needed
        r"(带|叫|领|喊)(了)?(人|一帮|一伙|一群|几个|好几个|[一二两三四五六七八九十几]+个)[^，]{0,10}(堵|围|砸|冲|闯)"
        r"|(一帮|一伙|一群|几个|好几个|[两三四五六七八九十几]+个)(人|男的|混混|流氓|壮汉|要债的|要账的)[^，]{0,6}(堵|围)(了|住|着|在)"
        r"|(我|我们|人|他|她|孩子|娃|儿子|女儿|老公|老婆)[^，]{0,2}被[^，]{0,8}围(住|起来|了)"
        r"|让(我|你|我们)[^，]{0,2}(走|出)不(出|了)[^，]{0,2}(这个村|村|这里|这儿|家门|门)",
        # someone come to the door to attack (找上门来打) or smashing one's car or door now (在楼下砸我的车;
        # not 砸了我的车, nor a falling object 砸坏了我的车)
        r"找(上)?(门|到家)(来)?[^，]{0,2}(打|砸|闹|砍|杀)"
        r"|(在|正|又|还)[^，]{0,4}砸[^，]{0,2}(我|我家|我们家|我们)的(车|门|窗|玻璃|店|房子|东西)",
        # a burglar inside now (有个贼仔入咗嚟), a driver taking one off the route with the doors locked, a house
        # pushed down by a digger (开着挖掘机来推我家的房子), being followed for streets (跟了我三条街了)
        r"(贼|小偷|强盗|劫匪)[^，]{0,6}(进来|进屋|进门|在(屋|家|楼))|往(山里|荒|偏僻|没人)[^，]{0,2}(开|带|拉)"
        r"|车门[^，]{0,2}锁(着|了|死)|不让我下车|(挖掘机|铲车|推土机|钩机)[^，]{0,8}(推|拆|铲)[^，]{0,4}(房|屋)"
        r"|跟了我[^，]{0,2}[一二两三四五六七八九十几好]+(条|站)|尾随",
        # a vehicle used as a weapon (开着车撞人 故意的)
        r"故意(的)?[^，]{0,4}(撞|轧|碾)(人|我)|(撞|轧|碾)(人|我)[^，]{0,4}，?故意(的)?|开(着)?车[^，]{0,4}追(着)?(人|我)",
    ),
    SELF_HARM: (
        r"自杀|轻生|寻死|寻短见|短见|走绝路|跳楼|跳河|跳江|跳湖|跳井|跳下去|卧轨|上吊|割腕|割(了)?(手腕|腕|脉|动脉)",
        rf"(喝|吃|吞)(了|下)?[^，]{{0,6}}{_POISON}|{_POISON}[^，]{{0,6}}(喝|吃|吞)(了|下|光|完)|喝药",
        r"(吃|吞)(了|下)?(一整瓶|一瓶|整瓶|好多|很多|一把|一堆|半瓶)(片)?(的)?药",
        r"(药|安眠药)[^，]{0,4}(全|都)(吃|吞|喝)|永别|(站|坐)在(楼顶|桥上|河边|江边|天台|窗台|楼边)|(站|坐|躺|蹲)在[^，]{0,2}(铁轨|铁道|轨道|悬崖|崖边)|(铁轨|铁道|轨道|悬崖|崖边)[^，]{0,3}(站|坐|躺|蹲)着|楼顶边",
        r"拿着[^，]{0,2}农药|农药瓶|熬不(下去|住)|想从[^，]{0,6}跳|说要去死|要去死|吊(起来|死)|(说|要|想)(要)?往下跳",
        r"去死|想不开|绳子|遗书|准备了[^，]{0,4}(药|绳|刀|农药)|不想回去|没有留恋|活着太痛苦|安排后事|交代后事|遗言",
        # a last transfer or message sent from the water or a height (说最后一次给你转钱，他人在水库边上)
        r"最后一次[^，]{0,8}.{0,20}?(水库|河|江|湖|海|桥|楼顶|天台|铁轨)(边|上|顶)"
        r"|最后一(条|次)(消息|信息|留言)|这是我最后|对不起(大家|你们|爸妈|爸爸妈妈|家里人|所有人)|今晚就(走|结束|去)|划了[^，]{0,4}(道|刀|口子)|划(了)?(手|腕)|把自己(反)?(锁|关)|说要烧炭|烧炭(?!取暖)",
        # self-harm worded as an injury: a cut made on oneself (刀片, 自己, 把手划开) or refusing help
        r"(刀片|自己).{0,10}?(割|划|砍|扎|捅)|把(手|腕|胳膊|手腕|脖子)[^，]{0,2}(割|划)(开|破|断)|(想|要)(割|划)(下去|手|腕)"
        r"|割(破|开|伤)?了?(手|胳膊|脖子)(?!机|套)|别管我|不要管我|不用救",
        # the means within reach and a farewell (药和酒都在桌上 … 说完我就走)
        r"(站|坐|蹲|爬|翻)(在|到|出)?[^，]{0,6}(阳台|窗户|窗台|栏杆|护栏|桥栏|楼顶|天台)(的)?外(面|边|头|侧)"
        r"|翻(过|出)[^，]{0,4}(栏杆|护栏|阳台|窗户)",
        r"(炭|炭盆|火盆|烧炭).{0,20}?(门窗|窗户|门缝)[^，]{0,3}(都)?(封|堵|贴)(好|死|上|住)"
        r"|(门窗|窗户|门缝)[^，]{0,3}(都)?(封|堵|贴)(好|死|上|住).{0,20}?(炭|炭盆|火盆|烧炭)",
        r"(药|农药|安眠药|绳子|刀片|炭)[^，]{0,6}(在|摆在|放在)[^，]{0,2}(桌|手|身边|床头|旁边|面前).{0,40}?"
        r"(我就走|就走了|最后|再见|永别|一了百了|下辈子)",
        # a farewell sent with blood, pills or a rope (说拜拜 … 手上全是血)
        r"(说|发|留)[^，]{0,4}(拜拜|再见|永别|下辈子)(?!的).{0,30}?(血|药|炭|绳|割|跳|浴缸)"
        r"|(血|药|炭|绳|割|浴缸).{0,30}?(说|发|留)[^，]{0,4}(拜拜|再见|永别|下辈子)",
    ),
    DROWNING: (
        rf"掉(进|到|下|在)?(了)?{_WATER}|{_WATER}.{{0,12}}掉(下去|进去|了下去)",
        rf"(冲|开|掉|翻|滑)(进|到|下)了?{_WATER}",
        r"被(水|大水|洪水|河水|江水|浪|浪头|急流)(卷|冲|拖|吸|带)(走|下去|进去|跑)|(卷|冲)(到)?(河|江|海|水)里",
        r"(困在|被困|爬到|趴在)[^，]{0,6}(房顶|屋顶|楼顶|树上|车顶)[^，]{0,12}，?[^，]{0,4}水[^，]{0,3}(涨|淹|大)|水(还)?(在|一直)(涨|往上)",
        r"(卷|冲|吸|掉|陷)(进|到|入)?[^，]{0,2}(漩涡|旋涡|激流|急流)|(?<!防)溺水|落水|被(水|大水|洪水|河水|浪)?冲走|把[^，]{1,6}冲走|冲走了(人|一个|个)|没(浮|冒)?上来",
        r"(水里|水中|河里|河中间|水库|塘里|池里|池底|江里|湖里|泳池|游泳池)[^，]{0,6}(挣扎|扑腾|不动|沉|喊|冒泡)",
        # sunk to the bottom (沉到池底了), swept down (被冲下去了), a child gone at the water's edge
        # (鱼塘边上有双小鞋 娃不见了)
        r"沉(到|在|下)(了)?[^，]{0,2}(水底|池底|河底|湖底|塘底)|被冲(下去|下河|进河|倒了|翻了)"
        r"|(河边|塘边|水库边|江边|湖边|海边|井边|鱼塘|池塘|水塘|水库|河里|塘里).{0,20}?(娃|孩子|小孩|人)[^，]{0,2}(不见了|找不到了)"
        r"|(娃|孩子|小孩)[^，]{0,2}(不见了|找不到了).{0,20}?(河边|塘边|水库|江边|湖边|海边|井边|鱼塘|池塘|水塘|河里|塘里)",
        # falling into water in any dialect's verb (跌落陂塘, 跌咗落河, 滑进河里; not a dry ditch: 摔到沟里 is a
        # fall), swept away, face down in water,
        # the ice giving way, pulled out not moving
        rf"(掉|跌|摔|栽|滑|落)(了)?(进|到|下|在|落|入)(了)?(?!沟){_WATER}|(冲|卷)走了(?![^，]{{0,4}}(羊|牛|猪|鸡|鸭|鹅|房|车|东西|庄稼|地|货|钱|桥|路|粮))|脸朝下|浮在水面|漂(起)?走|趴(在)?水里",
        r"((被|让)[^，]{0,3}|水|洪水|急流)(冲|卷)(着|了)?(往|到|进|向)[^，]{0,4}(下水道|排水|涵洞|桥洞|河|沟|渠|井)"
        r"|卷(着|了)?(往|到|进|向)[^，]{0,4}(下水道|排水|涵洞|桥洞)",
        r"冰(?!箱|柜|淇|激|糖|棍|块)[^，]{0,3}(裂|塌|破)(了|开)|(捞|拉|救)(起来|上来|出来)[^，]{0,6}(不动|没气|不哭|没反应|不醒|没(有)?呼吸)",
        # someone fallen off a boat (船上有人掉下去了), or gone with only his things left at the water's edge
        # (塘边就剩他的手电筒在亮)
        r"船(上|边)[^，]{0,6}(掉|落|摔|翻)(下去|水|河|海)"
        r"|(河边|塘边|水库边|江边|湖边|海边|井边|渠边|岸边|闸)[^，]{0,4}(就剩|只剩|只有|留下|漂着)[^，]{0,6}"
        r"(鞋|衣服|手电|电筒|帽子|鱼竿|桶|自行车|电动车|摩托)",
        r"冰(面|上|窟)[^，]{0,6}(裂|掉|塌|破)|困在(河|水)|水中间|涨水|(洪水|大水)[^，]{0,6}(困|冲|人)|抽筋[^，]{0,4}(沉|水)|沉下去|沉下|漂着|在水里|水里(喊|扑腾)|扑腾|船翻|翻船|淹着|快淹死|呛水|游不回来",
    ),
    GAS_POISONING: (
        r"(炭盆|火盆|炉子)[^，]{0,8}(没灭|一晚|头痛|头疼|吐)|(头痛|头疼)[^，]{0,2}(呕吐|想吐)|煤气中毒|沼气中毒|一氧化碳中毒|煤烟中毒|烤火中毒|炭火中毒|中煤毒|熏(倒|晕|着)了",
        rf"{_FUMES}.{{0,40}}?{_FUME_SYMPTOMS}|{_FUME_SYMPTOMS}.{{0,40}}?{_FUMES}",
    ),
    GAS_LEAK: (
        r"(煤气|沼气|燃气|天然气|液化气|瓦斯|气罐|管子|管道|阀门|罐车|槽车)[^，]{0,8}(漏|泄漏|嘶嘶|破了|断了|关不上|关不住|拧不上|拧不紧)",
        # a gas alarm sounding now (燃气报警器一直在叫), a stove's flame gone out while the gas still flows
        r"(燃气|煤气|天然气|可燃气体)报警器[^，]{0,4}(一直|还在|正在|在|也)(响|叫)|报警器[^，]{0,2}(响|叫)个不停"
        r"|(火|火苗)[^，]{0,3}(灭|熄)了[^，]{0,6}(气|煤气|燃气|天然气)[^，]{0,3}(还在|一直|还|不停)(出|冒|漏|跑|放|往外)"
        r"|(气|煤气|燃气|天然气)(还在|一直在|不停地?)(出|冒|漏|往外)",
        r"(煤气|沼气|燃气|天然气|液化气|臭鸡蛋)[^，]{0,4}味|闻到[^，]{0,6}(气|臭)味|厨房[^，]{0,6}漏气",
        r"(灶|煤气|燃气|天然气|液化气|管道|气罐|罐子).{0,40}?(冒气|漏气|喷|味道(冲|重|大|很)|臭味)",
        # the hiss, a smell strong or odd, a meter running with the stove off, near a gas pipe, tank or heater
        r"(煤气|沼气|燃气|天然气|液化气|气罐|罐罐|罐子|气瓶|钢瓶|热水器|燃气管|煤气管|接头|阀门|管子)"
        r".{0,30}?(呲呲|嗤嗤|滋滋|嘶嘶|呼呼|漏(了|气)|(往外|正在|还在|一直)漏|裂|冒(白)?气|怪味|臭味|一股(子)?味|味(道)?[^，]{0,2}(冲|重|大)|(大|重|冲|浓)(的|阵|股)?味)",
        r"(呲呲|嗤嗤|嘶嘶|怪味|臭味|一股(子)?味).{0,30}?(煤气|燃气|天然气|液化气|气罐|热水器|燃气表|管子|灶)",
        r"(燃气|煤气|天然气)表[^，]{0,4}(还在|一直|在)转",
    ),
    TRAFFIC: (
        rf"{_ACCIDENT}.{{0,40}}?{_INJURED}",
        rf"{_INJURED}.{{0,40}}?{_ACCIDENT}",
        # a driver who has hit someone (我撞了个老太太), a vehicle that ran someone over (渣土车把工友碾了)
        r"撞(了|倒|伤|到)(了)?((个|一个)人|(个|一个)?(老人|老太太|老太|老头|老大爷|大爷|大妈|小孩|孩子|娃|学生|行人|骑车的))"
        rf"|{_VEHICLE}[^，]{{0,4}}把[^，]{{0,6}}(碾|轧)(了|死|伤|倒|着)",
        r"把[^，]{0,4}(人|娃|孩子|小孩|老人)(给)?(碾|轧|撞飞)|(碾|轧|压)(到|着|死|倒)?了?(人|孩子|娃)|被(车)?(碾|轧)|撞飞",
        rf"{_VEHICLE}[^，]{{0,10}}(碾|轧|压)(过去|过|到|住|着|在)|(压|卡|夹)在{_VEHICLE}[^，]{{0,3}}(下|底|里)",
        # a person hit by a vehicle (孩子放学过马路被一辆面包车撞了) is hurt, whatever else is said; not a car hit
        # by one (我的车被货车撞了)
        r"(孩子|娃|小孩|老人|人|我|他|她|爸|妈|爹|娘|儿子|女儿|爷爷|奶奶|外婆|外公)[^，车]{0,6}被[^，]{0,6}"
        + _VEHICLE + r"[^，]{0,2}(撞|轧|碾|刮倒|撞倒|撞飞|挂倒|带倒|别倒|蹭倒|碰倒)",
        # someone dragged or pinned under a vehicle's wheels is hurt, whatever else is said
        r"(卷|拖|压|卡|夹)(到|进|在)[^，]{0,2}(车|轮)[^，]{0,1}(下|底)",
    ),
    UNSPECIFIED: (
        r"救命(?!钱|稻草|恩|之恩)|救救(?!我?的)|救我(?!的)|快来人|来人啊|出人命|sos",
    ),
}

# First-person distress and explicit calls for help: they count even inside a legal question.
STRONG: dict[str, tuple[str, ...]] = {
    SELF_HARM: (
        r"不想(再)?活(?![在成])|不活了|死了算了|想死(?!你|您|他们|她们|咱|我了)|活着[^，]{0,4}(意思|意义)|想自杀|要自杀|活不下去|撑不下去|活着(太累|没意思|没意义|有什么意思)|一了百了",
        r"(我|俺)(真|真的)?(想|要|准备|打算)(从[^，]{0,8})?(跳(下去|楼|河|江|湖|桥|井)|喝(农)?药|喝敌敌畏|喝百草枯|上吊|割腕)",
        r"(我|俺)(就|会|要)(从这里|从这儿|从这)?跳下去",
        # preparations already made: the means bought or ready
        r"(买|备|准备)好(了)?[^，]{0,3}(安眠药|农药|老鼠药|敌敌畏|百草枯|绳子|木炭|炭)|(安眠药|农药|绳子|木炭)[^，]{0,2}(都)?(买|准备)好了",
        r"活着(就是)?受罪|(跟|和|向)这个世界(说)?(再见|告别|道别)|告别这个世界|结束(自己|生命|我的生命)|了结(自己)?(?![^，]{0,3}(案|事|纠纷|官司|债|账|恩怨|心愿|合同|关系|手续))|不想醒|不想再拖累|拖累(你们|大家|家里)|解脱|下辈子",
        r"不想(再)?连累|连累(你们|大家|家里)",
        # first person who has already swallowed the pills or poison, even after a legal question (我想问欠网贷…
        # 我已经把安眠药都吃了)
        r"(我|俺)(已经)?把[^，]{0,4}(安眠药|药|农药|百草枯|敌敌畏|老鼠药)[^，]{0,2}(都|全)?(吃|喝|吞)(了|下|光|完)"
        r"|(我|俺)(已经)?(吃|喝|吞)(了|下)[^，]{0,4}(一整瓶|整瓶|一瓶|半瓶)?(安眠药|农药|百草枯|敌敌畏|老鼠药)",
        # first person at the water or on a height with last words (我现在在江边了，写完这条就下去)
        r"(我|俺)[^，]{0,4}(在|到)(了)?[^，]{0,2}(江边|河边|湖边|海边|水库边|桥上|大桥|楼顶|天台|铁轨)"
        r".{0,30}?(就下去|就跳|跳下去|最后一|再见|永别|下辈子)",
        # first person outside a balcony, window or railing, even inside a question (我现在站在阳台外面 想问一下…)
        r"(我|俺)[^，]{0,6}(站|坐|蹲|爬|翻)(在|到|出)?[^，]{0,6}(阳台|窗户|窗台|栏杆|护栏|桥栏|楼顶|天台)(的)?外(面|边|头|侧)",
        # first person on a height with the wish to jump or not to come down (我坐在厂房顶上 跳下去他们就该赔了吧)
        r"(我|俺)[^，]{0,6}(站|坐|蹲|爬|在)[^，]{0,4}(楼顶|顶楼|桥上|大桥|天台|窗台|房顶|屋顶|厂房顶|顶上|悬崖|崖边|桥边|栏杆外|护栏外)"
        r".{0,30}?(跳下去|不想下(去|来)|不下来|劝不|不想活|最后一)",
    ),
    UNSPECIFIED: (r"救命(?!钱|稻草|恩|之恩)|救救我(?!的)|救我(?!的)|快来人",),
    VIOLENCE: (r"(快|赶紧|帮我|马上)(点)?报警",),
}

# A plea (救命, 快来人) with no danger named, about money or property only: hyperbole, not an emergency.
_CIVIL_MATTER = re.compile(
    r"工资|欠薪|欠(我|钱|款)|网贷|贷款|催收|催债|催(我|账)|还钱|借钱|庄稼|宅基地|养老金|房东|房租|租金|押金|官司|合同|赔|彩礼|"
    r"骗|开除|辞退|退学|退款|罚款|补偿|补贴|拆迁|征地|地里|被[^，]{0,4}占|占(了)?(我|地)|贪污|收费|[^，]{0,3}费|"
    r"表格|填|户口|手续|材料|证明|办证|考试|作业|题|成绩|网站|评理|偷|被盗|丢了|判决|法院|看不懂|房贷|车贷|债|价"
)

# A plea for a thing (救救我的成绩, 救救我的头发): the plea words are there, no danger; the score is not asked.
_PLEA_FOR_A_THING = re.compile(r"救救我?的|救我的")
_CRY_FOR_HELP = re.compile(r"(喊|叫|呼|哭)(着)?救命|呼救")
# Laughter: vague distress with it is a joke (笑得我肚子疼 快不行了).
_LAUGHTER = re.compile(r"笑(得|到|的|死)|太逗|好逗|搞笑|哈哈|呵呵|hhh|😂|🤣")
# Distress too vague to name a danger by itself (我快死了, 不行了).
_VAGUE_DISTRESS = re.compile(r"(快|要)?(死了|不行了|不行|快不行)|快死了")

# From this many clauses on, a message is long: a question at its start does not frame a danger reported later.
LONG_MESSAGE_CLAUSES = 5

# Below this score for its most likely kind, the learned score also gives 110 / 120.
LEARNED_KIND_CERTAINTY = 0.6
# When the rules found a danger, the learned score's most likely kind is added at or above this
# certainty: the rules often name the injury (120) but not its cause (a vehicle, water, a husband), and
# an extra number costs little. It cannot raise a false alarm: only a message already flagged gets it.
# Chosen on the first runs of rounds 12 and 14 (0.8: 5 more of 198 with all their numbers, none lost).
LEARNED_KIND_ADDED = 0.8

# Fire with people inside, trapped or hurt: 120 as well as 119. Generous on purpose.
_PEOPLE_AT_RISK = re.compile(
    r"里面|里头|里屋|屋里|被困|困在|出不来|下不去|没跑出来|跑不出来|烧伤|受伤|在床上|锁在|喘不上气|呛|救命|呼救|"
    r"喊|[0-9一二三四五六七八九十]楼|楼上|腿脚不好|老人|孩子|娃|婴儿|有人"
)

# ---------------------------------------------------------------------------------------------
# What cancels a trigger.
# ---------------------------------------------------------------------------------------------
_NEGATION_BEFORE = re.compile(r"(没|没有|不|不是|并没|未|无|别|不会|防止|预防|怎么防|怕|担心|以防)$")
# A trigger used to describe a thing (着火的厂房, 割腕的伤疤, 起火的电动车) is not a report.
# The same goes for a trigger in the past aspect (晕倒过两次, 火烧了以后).
_ATTRIBUTIVE_AFTER = re.compile(
    r"了?的(?!时候|话|满|浑|全|直|不|站|起|头破|鼻青|半死|要死|快)|了?(之|以)?后(?!面|边|院|门|山|屋|头)|那(次|天|年|回|事|件事|会儿|些年)|过(?!来|去|头|了|[，]|$)"
)
# Right before a trigger, words that make it hyperbole or prevention: what would be seen (看到房价我都要晕倒了),
# prevention (怎么防止孩子溺水), and for every kind but medical an emotion or a chore as the cause (气得我要跳河,
# 尴尬得想死, 返工返到想死, 气得我冒火) — not for medical: 气得晕过去了, 累得倒下了 and 疼得要死 are real.
_HYPERBOLE_BEFORE = re.compile(r"(看到|听到|一看|一听)[^，]{0,8}(都|快)要$|(防止|预防|防范|避免|以防)[^，]{0,4}$")
_EMOTION_BEFORE = re.compile(
    r"(气|笑|急|愁|烦|尴尬|丢人|丢脸|羞|难为情|无聊|返工|上班|加班|作业|考试|热|冷|晒|饿|困|忙|做|写|改|背|看|等)"
    r"[^，]{0,2}(得|到)(我)?[^，]{0,2}$"
    r"|(累|烦|热|饿|困|忙|穷|愁|气)死(了|我了)?，?$"
)
# A thing, not a person, right before an illness word: the phone is dying (手机快不行了), the tyre is flat (车胎没气了).
_THING_BEFORE = re.compile(
    r"(手机|电脑|电池|电瓶|车胎|轮胎|胎|气球|球|游泳圈|充气|电视|空调|冰箱|洗衣机|机器|电器|生意|庄稼)(快|都|也|又|要|就|已经)?$"
)
# 跳楼 about prices (跳楼价, 这个价格我要跳楼了) is a sales idiom.
_PRICE_IDIOM = re.compile(r"跳楼价|价格|价钱|房价|菜价|甩卖|清仓|打折")
# A disclaimer after first-person words of despair: they were said in anger or in jest.
_DISCLAIMED = re.compile(r"气话|说着玩|开玩笑|随口说说|说说而已|瞎说的")
# Even first-person words describe someone else when a noun follows (卖农药给想自杀的人).
_ABOUT_OTHERS_AFTER = re.compile(r"的(人|新闻|案子|事|学生|员工|病人|孩子|心)")
_ALL_CLEAR = re.compile(
    r"没(有)?人受伤|人没事|都没事|没事了|(火|已经)(已经)?(灭了|扑灭)(?![^，]{0,2}(但|可|气))|虚惊一场|已经安全|没有危险|不危险"
    r"|救(上来|出来)了|被救|(已经|都)?送(到)?医院了|脱险|抢救过来|后来醒了"
)
# The message is about something else: a legal question, the past, a hypothetical, the news.
_FRAMING = re.compile(
    # legal questions
    r"能(不能)?(告|起诉|索赔|要|判|离婚|报销|赔|拿|追回|立案|申请|办|调|当)|可以(告|起诉|索赔|离婚)|起诉|告他|怎么告"
    r"|赔(偿|钱|多少|不赔|吗|[0-9一二两三四五六七八九十几百千万])|要赔|(找)?谁(赔|出|负责|承担|来|担责|的责任|发|给|管|养)|找谁|负(什么)?责|有(没有)?责任|担责|责任"
    r"|归谁|(债|钱|账|款)谁还|判(了|几年|多少|刑|缓刑|死刑)|被判|会被|被抓|(可以|能)[^，]{0,8}吗|能报警|给了[^，]{0,6}(块|元|千|万|钱)|赔了|案子|案底|罪|违法|犯法|合法|拘留|坐牢|保险|险|理赔|医保|报销|工伤"
    r"|鉴定|认定|补助|补偿|补贴|罚款|被罚|投诉|举报|证据|标准|规定|条款|费用|遗产|离婚|抚养|财产|私了"
    r"|调解|法院|律师|官司|宅基地|押金|房租|拆迁|办证|签字|算(不算|是|工伤|家暴|互殴|犯法|违法|什么|凶宅|意外)"
    r"|怎么(赔|算|分|处理|划分|申请|收集|证明|认定)|(?<!死)死的|定责|诬陷|诬告|冤枉|(商家|厂家|店家|卖家|保险公司)说"
    # hypotheticals, news, information
    r"|如果|假如|万一|要是|假设|会不会|新闻|电视(?!机|[^，]{0,2}(砸|摔|踢|推|扔|碎|烂))|报道|电影|小说|(?<![发打开])视频(?!给我|通话|电话)|抖音|网上(?!认识|聊|加的|交的|找的)|听说|据说|讲讲|科普|安全教育|演练"
    r"|普及|提前(了解|学)|了解一下|想学|学一下|(气|急|愁|烦|笑|尴尬)得(我)?|是什么|什么区别|要注意|注意(什么|啥)|多久|是真的吗|讲什么|要钱吗|收费|多少钱|算[^，]{0,4}吗"
    r"|派出所说|警察说|家务事|去世|身亡|遇难|死亡|过世|跳楼走了|病人的|患者的|作数|合同|能否|是否|赔|罚|立案|开玩笑|说是(?!有)|怎么劝|(老板|对方|他)跑了|殃及|告我|要告|补办|补发|(急|气|愁|烦|笑)死(了|我|人)"
    r"|(气|笑|哭|急|愁|烦|累|饿|冷|热|困|紧张|激动)(得|的)?(我)?(快|要)?(死|吐血|断气|疯)"
    # idioms and hyperbole, laughter, courses and dramas, generic statements, a will
    r"|想死(你|您|他|她|咱|我了)|不想活(在|成)|的心都有了|笑(得|到|的)|太逗|火坑|钱眼|哈哈|呵呵|hhh|😂|🤣"
    r"|培训|报名|课程|这剧|剧情|追剧|男主|女主|(?<!不)容易|该不该|遗嘱"
    r"|不认(账)?(?!得人|识人|人|得我|识我)|认账|一分钱|医药费|误工|伤(都)?好了|(家长|对方|他家|人家|那家)(要|不给|不出|不赔|不管)|要[0-9一二两三四五六七八九十几百千万]+(块|元|千|万)?"
    r"|进(了)?医院了|照顾|瘫在床(?![^，]{0,6}(起不来|动不了|跑不了|出不来|下不来))|谁(带|管)|管不管|回娘家了"
    r"|[吗么]$|(?<![着在办])呢$|(该|要|需要|应该|该不该|要不要)报警|警察还没|还没查|查到|花了[^，]{0,6}(块|元|千|万|钱)"
    r"|(公司|物业|医生|医院|警察|派出所|老师|村里|村委会|司机|对方|肇事者)说|是不是(威胁|违法|犯法|犯罪|家暴)"
    r"|继承|家产|分家|争(房子|家产|财产|遗产|宅基地)|疫苗|狂犬|是[^，]{0,6}还是"
    # round 20's look-alikes, by class: a hypothetical (比如说有人拿刀闯进我家), what a word means (界限是啥)
    r"|比如|比方|打个比方|举个例子|倘若|若是|是啥|啥意思|什么意思"
    # games and songs (游戏角色自杀了, 这首歌太洗脑了 中毒了), a rout at cards (杀了个片甲不留); not cards or mahjong
    # themselves: a room of players is where charcoal fumes and fights happen (烤着炭火打麻将 好几个人头晕倒了)
    r"|游戏(里|中|角色|人物)|角色|王者|吃鸡|片甲不留|首歌|歌曲|歌词|洗脑|单曲循环|循环播放|上头了"
    # a disclaimer (我就是说说气话), food praise and prices (吃火锅吃到中毒 太好吃了)
    r"|气话|说说而已|随口说说|说着玩|就是说说|好吃|好喝|价格|太贵"
    # how-to and prevention (掉河里怎么自救, 炭盆烤火怎么防止中毒); not 掉河里了 怎么自救, which is happening
    r"|(?<!了)(怎么|怎样|如何)(自救|逃生)|(怎么|怎样|如何)(防止|预防|避免|防范)|自救(方法|知识|技巧)"
    # which number or whom to call (该打119还是找燃气公司), a refund (不给退), dates that clash (两个会撞车了)
    r"|(该|应该|要)(打|找|叫)[^，]{0,8}还是|还是(打|找|叫)[^，]{0,6}(公司|电话|[0-9]{3})|先问问|备着"
    r"|(不给|不让|不肯|不能|没给)退|退货|退款|(会|课|会议|考试|时间|日子|档期|活动)[^，]{0,2}撞(车|期|档)"
    # round 21's look-alikes by class: idioms (老房子着火 = late love), games (打游戏…打死那个坑队友), a draught or a
    # lisp (说话漏风), how to tell or what to buy (怎么判断燃气泄漏 要买什么设备), whether a thing may be kept somewhere
    # (液化气瓶能不能放在阳台上), a life compared to a disaster (人生就像出车祸一样), everyday paperwork (怎么交社保)
    r"|老房子着火(?!了)|打游戏|玩游戏|队友|开黑|排位|漏风"
    r"|(怎么|怎样|如何)(判断|检测|辨别|识别)|(要|该|得)买(什么|啥)|能不能(放|用|装|存|搬|带)"
    r"|(人生|日子|生活|心情|心里)(就)?(像|跟)|社保|公积金|怎么(交|缴|办理)"
    # a landlord or company that does nothing (房东不管), a thing that makes one feel ill whenever it is seen
    # (一看到欠条就血压升高; not 看见孩子掉河里就喊人)
    r"|(房东|物业|公司|老板|厂家|商家|村里)(都|也)?(不管|不修|不理|不给|不退|不赔|不来)"
    r"|一(看到|听到|想到|提到|看见)[^，]{0,8}就[^，]{0,4}(头晕|头疼|头痛|血压|心慌|想吐|来气|生气|烦|难受|发抖|晕)"
)
# The past, or already handled: it frames the whole message wherever it stands.
_PAST = re.compile(
    r"去年|前年|上个月|上周|上星期|上次|前几天|几年前|年前|那天|那次|那年|那场|当时|以前|之前|曾经|后来|事后"
    r"|那些年|那几年|小时候|当年|那会儿|那件事|那事"
    r"|昨天|前天|(?<!一)动不动|经常|总是|老是|之后|(车祸|事故|受伤|出事|出院|火灾|着火)后|出院|住院|后遗症|好多年|几十年|已经报(过)?警|报过警|报了警|我报警了|验伤|(家暴|打|骂|威胁|砍|捅|伤)过|已经过去|(?<![晕昏厥轧碾压抽追跑冲扑赶跟爬游漂飘])过去了|过去(一|两|三|几|好几)"
    r"|每次|每回|天天|老(打|骂|欺负)|已经分开"
    r"|那回|上回|上礼拜|上个礼拜|前些年|早年|年轻(时|的时候)|走(了|咗)(以|之)?后"
)
# A resident breaking off a question to report a danger (宅基地的事 哎先不说了 后院烧起来了): framing
# counts only after the last of these before the danger.
_TOPIC_SWITCH = re.compile(
    r"先不(说|问|管)|不说了|不问了|回头再(问|说)|等一下|等等|先别管|不好了|哎呀|算了(?!吧)"
    # a new event after the old story (上次那个还没赔完，结果今天我妈又被…挂倒了)
    r"|结果(今天|刚才|刚刚|现在)|(今天|刚才|刚刚)又"
)
# A clause that starts with "now" after a question (物业不作为怎么投诉…，现在那些纸箱烧起来了) switches too, unless
# it asks something itself (现在能起诉吗) or follows the past, which it only contrasts with
# (那年冲走的地，现在地界划不清了).
_NOW_CLAUSE = re.compile(r"(?:^|，)(现在|这会儿|此刻|眼下)(?!(还)?(能|可以|要不要|该|怎么|是不是|有没有))")
# Violence by an unnamed "he" or "she" in a household (孩子在哭, 反锁, 离婚): violence at home.
_HOUSEHOLD_ATTACKER = re.compile(r"(他|她)(?!们)[^，]{0,6}(打|揍|掐|踹|踢|砸|拿刀|锁|关|烫|弄死|打死|收拾)")
_HOUSEHOLD = re.compile(
    r"孩子|娃|家里|屋里|卧室|厕所|卫生间|衣柜|柜子|床底|房间|反锁|锁门|离婚|结婚|喝醉|喝多|喝了酒|回家|娘家|砸家"
)
# A flood (暴雨把村里淹了, 水到腰了, 积水齐腰深) with people who cannot get out or are knocked over or carried off
# (我妈被冲倒了 卷到下水道口那边去了): drowning.
_FLOOD = re.compile(
    r"淹了|发大水|洪水|山洪|涨水|积水[^，]{0,3}(腰|胸|脖子|大腿)|齐腰|水(漫|灌)|水(到|没过|淹到)[^，]{0,2}(腰|胸|脖子|膝盖|大腿|房顶|屋顶|二楼|床)"
)
_TRAPPED = re.compile(
    r"困|出不来|出不去|走不了|跑不了|爬到(房顶|屋顶|楼顶|树上)|救命|快来|冲(倒|走|跑)(?!的)|卷(到|进|走)(?!的)"
)
# An animal hit by a vehicle (牛被车撞死了) with no person hurt is not a traffic emergency.
_ANIMAL_HIT = re.compile(
    r"(牛|羊|猪|狗|鸡|鸭|鹅|驴|马(?!路)|骡|猫)[^，]{0,2}(被|让)[^，]{0,4}(撞|轧|碾|压)"
    r"|(撞|轧|碾|压)(死|伤|倒)?了?[^，]{0,3}(牛|羊|猪|狗|鸡|鸭|鹅|驴|马(?!路)|骡|猫)"
)
_PERSON_HURT = re.compile(r"(人|我|娃|孩子|老人|爹|妈|爸|他|她)[^，]{0,4}(血|伤|躺|不动|起不来|断|昏|晕|喘)")
# A vehicle accident anywhere in a message that reports an injury: the injury is a traffic accident's.
_ACCIDENT_RE = re.compile(_ACCIDENT)

# A question about when, whether or what to do about a thing (燃气管道啥时候通, 炉子是不是要装烟囱): the learned score
# is not asked about it. Not for the rules: "要不要叫救护车" after a collapse is still a collapse.
_QUESTION = re.compile(r"是不是(要|该|得|应该)|要不要|用不用|需不需要|啥时候|什么时候|哪天|在哪(里)?(买|办|申请)")

# Words that say it is happening now; they override the framing above.
_NOW = re.compile(
    r"正在|还在(打|砍|砸|烧|追|撞|闹|流|里面|屋|门口|外面|找)|又在|又开始|就在(门口|门外|外面|楼下|屋里|家里|后面|身后|背后)"
    r"|在(打|砍|砸|追|烧|掐|捅)(我|俺|人|孩子|娃)|人就在|人还(躺|在地|在路|没醒|没动)|刚刚|刚才|马上|赶紧|赶快|快来|快点|快救|快叫|快喊|快报|救命(?!钱)|救救|快不行|出不来|来不及|今晚"
    r"|劝[^，]{0,2}不(下来|住|回来|动|听)|拉不(住|上来|开)|(昏|晕)过去了|叫不(醒|应|答应)|喊不(醒|应)|躺着不动|一动不动|还没醒|(一直|还在|不停(地)?)(流|吐|抽|冒|烧|喷)"
    r"|现在(人)?(就|还|正)?在(门口|门外|外面|楼下|屋里|家里|里面|打|砍|砸|追|烧|楼顶|河边|桥上|现场)"
    r"|又(在)?(漏|冒|烧|着|打|砸|动手)"
    # a live call to the helpline (你们能听到吗) and someone who cannot cry out (我喊不出声)
    r"|(你们|你)(能|可以)?(听|看)(得)?(到|见)(我)?(吗|么|不)|(喊|叫|哭)不出(声|来)"
    # hiding from someone who is looking for you now
    r"|(我|俺)[^，]{0,2}(正|还|现在)?躲(在|到|进)|在(外面|外头|门口|门外|楼下)(找|等|堵|喊)我"
    # the danger's smell, smoke or fire strong now, after an old complaint (之前说过好几次了，现在家里燃气味特别大)
    r"|现在[^，]{0,6}(味道?|烟|火)[^，]{0,2}(特别|好|很|太|越来越|更|这么)(大|浓|冲|重|旺)"
    # the attacker coming back now (女婿现在又去医院闹)
    r"|现在又(去|来|跑)[^，]{0,6}(闹|找|堵|砸|打)"
)


@dataclass(frozen=True)
class Detection:
    """What the rules (and, when they find nothing, the learned score) found in one message."""

    kinds: tuple[str, ...] = ()
    # Triggers that matched but were cancelled by negation or framing (for review and tests).
    cancelled: tuple[str, ...] = ()
    matched: tuple[str, ...] = field(default=(), compare=False)
    # The learned score's probability that the message reports a danger now (0–1).
    probability: float = 0.0
    # True when the kinds come from the learned score because the rules found nothing.
    learned: bool = False
    # True when the rules read the message as something else and nothing says a danger is happening now: a
    # question, the past, news, an idiom (笑死我了), a plea about money, a danger word negated or set aside.
    # The NLU component then does not keep a classifier's ``emergency`` either.
    set_aside: bool = False

    @property
    def is_emergency(self) -> bool:
        return bool(self.kinds)

    @property
    def numbers(self) -> tuple[str, ...]:
        return numbers_for(self.kinds)


def numbers_for(kinds: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The numbers to call for these kinds, most urgent first, each once."""
    ordered = [k for k in KINDS if k in kinds]
    return tuple(dict.fromkeys(n for k in ordered for n in NUMBERS[k]))


def _compile(table: dict[str, tuple[str, ...]]) -> dict[str, list[re.Pattern[str]]]:
    return {kind: [re.compile(p) for p in patterns] for kind, patterns in table.items()}


_TRIGGERS = _compile(TRIGGERS)
_STRONG = _compile(STRONG)
_FAMILY_RE = re.compile(_FAMILY)


def _live_hits(
    patterns: list[re.Pattern[str]], text: str, describes: bool = True, medical: bool = False, things: bool = False
) -> list[re.Match[str]]:
    """Matches of ``patterns`` in ``text`` that are not negated (没着火, 不是自杀), hyperbole (气得我要跳河)
    nor used to describe a thing (着火的房子; ``describes=False`` keeps those: 结束自己的生命). ``things``: a
    thing right before the match is its subject, not a person (手机快不行了, 手机想不开了)."""
    hits = []
    for pattern in patterns:
        for m in pattern.finditer(text):
            if _NEGATION_BEFORE.search(text[max(0, m.start() - 3) : m.start()]):
                continue
            if things and _THING_BEFORE.search(text[max(0, m.start() - 6) : m.start()]):
                continue
            before = text[max(0, m.start() - 12) : m.start()]
            if _HYPERBOLE_BEFORE.search(before) or (not medical and _EMOTION_BEFORE.search(before)):
                continue
            # 的 after a doubled sound (血哗哗的, 嘶嘶的) ends the sentence; it describes nothing.
            doubled = len(m.group(0)) > 1 and m.group(0)[-1] == m.group(0)[-2]
            if describes and not doubled and _ATTRIBUTIVE_AFTER.match(text, m.end()):
                continue
            if _ABOUT_OTHERS_AFTER.match(text, m.end()):
                continue
            hits.append(m)
    return hits


def _switched_at(norm: str, end: int) -> int:
    """Where the text after the last topic switch (先不说了, 等一下) before ``end`` starts; 0 if none."""
    switches = [m.end() for m in _TOPIC_SWITCH.finditer(norm, 0, end)]
    switches += [m.end() for m in _NOW_CLAUSE.finditer(norm, 0, end) if not _PAST.search(norm, 0, m.start())]
    return max(switches, default=0)


def _framed_after(norm: str, start: int) -> bool:
    return bool(_PAST.search(norm, start) or _FRAMING.search(norm, start))


def _framed_from(norm: str, long_message: bool) -> Callable[[re.Match[str]], bool]:
    """Whether a trigger is framed as a question, the past, a hypothetical or news. Framing counts only
    after a topic switch before the trigger (工伤的事先不说了，我工友掉下来了), and in a long message only
    from the clause before the trigger's on (去年冬天，家里着火了): a resident who starts with a question
    (宅基地的事, 上次问的) and breaks off to report a danger (外面有人喊着火了) is reporting it."""

    def framed_at(m: re.Match[str]) -> bool:
        start = _switched_at(norm, m.start())
        if long_message:
            start = max(start, norm.rfind("，", 0, max(0, norm.rfind("，", 0, m.start()))) + 1)
        return _framed_after(norm, start)

    return framed_at


def detect(text: str, model: dict | None = None) -> Detection:
    """The kinds of danger ``text`` reports as happening now, in the order of ``KINDS``. ``model``: the
    learned score's weights when not the shipped ones (the benchmark's leave-one-round-out runs)."""
    norm = normalise(text)
    if not norm:
        return Detection()
    framed_at = _framed_from(norm, norm.count("，") + 1 >= LONG_MESSAGE_CLAUSES)
    framed = _framed_after(norm, _switched_at(norm, len(norm)))
    now = bool(_NOW.search(norm))
    all_clear = bool(_ALL_CLEAR.search(norm))
    found: set[str] = set()
    cancelled: set[str] = set()
    self_harm_words: list[str] = []
    matched: list[str] = []
    for kind, patterns in _TRIGGERS.items():
        things = kind in (MEDICAL, SELF_HARM)
        strong = _live_hits(_STRONG.get(kind, []), norm, describes=False, medical=kind == MEDICAL, things=things)
        hits = _live_hits(patterns, norm, medical=kind == MEDICAL, things=things)
        # First-person words disclaimed afterwards (我昨天说不想活了是气话 现在好多了) are not strong; framing decides.
        if strong and kind == SELF_HARM and not now and _DISCLAIMED.search(norm, strong[-1].end()):
            strong = []
            cancelled.add(kind)
        if strong:
            found.add(kind)
            matched += [m.group(0) for m in strong]
            if kind == SELF_HARM:
                self_harm_words = [m.group(0) for m in strong]
        elif hits and not all_clear and (now or not all(framed_at(m) for m in hits)):
            found.add(kind)
            matched += [m.group(0) for m in hits]
            if kind == SELF_HARM:
                self_harm_words = [m.group(0) for m in hits]
        elif hits or any(p.search(norm) for p in patterns):
            cancelled.add(kind)
    if SELF_HARM in found and _PRICE_IDIOM.search(norm) and all("跳楼" in w for w in self_harm_words):
        found.discard(SELF_HARM)
        cancelled.add(SELF_HARM)
    at_home = bool(_FAMILY_RE.search(norm) or (_HOUSEHOLD_ATTACKER.search(norm) and _HOUSEHOLD.search(norm)))
    if VIOLENCE in found and at_home:
        found.discard(VIOLENCE)
        found.add(DOMESTIC)
    if MEDICAL in found and TRAFFIC not in found and _ACCIDENT_RE.search(norm):
        found.add(TRAFFIC)
    if _ANIMAL_HIT.search(norm) and not _PERSON_HURT.search(norm):
        cancelled |= found & {TRAFFIC, MEDICAL}
        found -= {TRAFFIC, MEDICAL}
    if _FLOOD.search(norm) and _TRAPPED.search(norm) and not (framed and not now) and not all_clear:
        found.add(DROWNING)
    # 被家暴 / 正在家暴 is a report unless framed; the bare word (家暴 现在, jiabao 快来人) only with "now".
    home_violence = re.search(r"家暴(?!的|了?(以|之)?后|过|男|女|犯)", norm)
    if home_violence and (now or re.search(r"(被|正在)家暴", norm)):
        if now or not framed:
            found.add(DOMESTIC)
            found.discard(VIOLENCE)
        else:
            cancelled.add(DOMESTIC)
    if FIRE in found and _PEOPLE_AT_RISK.search(norm):
        found.discard(FIRE)
        found.add(FIRE_TRAPPED)
    if found - {UNSPECIFIED}:
        found.discard(UNSPECIFIED)
    # Someone else heard crying for help (那女的一直喊救命) is no one's hyperbole, wherever it happens.
    civil_plea = found == {UNSPECIFIED} and bool(_CIVIL_MATTER.search(norm)) and not _CRY_FOR_HELP.search(norm)
    # 我快死了 房贷还不上: the vague words of distress alone, about money or property, are hyperbole too.
    if found == {MEDICAL} and all(_VAGUE_DISTRESS.fullmatch(w) for w in matched) and (
        _CIVIL_MATTER.search(norm) or _LAUGHTER.search(norm)
    ):
        found.discard(MEDICAL)
        cancelled.add(MEDICAL)
    if civil_plea:
        found.discard(UNSPECIFIED)
        cancelled.add(UNSPECIFIED)
    if not found and _PLEA_FOR_A_THING.search(norm):
        cancelled.add(UNSPECIFIED)
    probability = score.probability(norm, model)
    # The score is not asked about a plea already judged hyperbole: the plea words are what it would react to.
    # Nor about words the rules saw and set aside (negated, framed, past): the score would react to them.
    learned = (not found and not cancelled and not all_clear and (now or not (framed or _QUESTION.search(norm)))
               and probability >= score.threshold(model))
    if learned:
        found = _learned_kinds(norm, model)
    elif found and probability >= score.threshold(model):
        found |= _added_kind(norm, found, model)
    return Detection(
        kinds=tuple(k for k in KINDS if k in found),
        cancelled=tuple(k for k in KINDS if k in cancelled),
        matched=tuple(matched),
        probability=round(probability, 3),
        learned=learned,
        set_aside=not found and bool(cancelled or all_clear or (framed and not now)),
    )


def _learned_kinds(norm: str, model: dict | None) -> set[str]:
    """The learned score's most likely kind, with 110 / 120 as well when it is unsure which kind. Used
    when the rules found nothing, nothing frames the message as a question, the past or news, and the
    score is above its threshold."""
    kind, certainty = score.likely_kind(norm, model)
    if kind == VIOLENCE and _FAMILY_RE.search(norm):
        kind = DOMESTIC
    if kind == FIRE and _PEOPLE_AT_RISK.search(norm):
        kind = FIRE_TRAPPED
    return {kind} if certainty >= LEARNED_KIND_CERTAINTY else {kind, UNSPECIFIED}


def _added_kind(norm: str, found: set[str], model: dict | None) -> set[str]:
    """The learned score's most likely kind when it is sure of it and the rules named another."""
    kind, certainty = score.likely_kind(norm, model)
    covered = {VIOLENCE: {DOMESTIC}, FIRE: {FIRE_TRAPPED}}.get(kind, set()) | {kind}
    if certainty < LEARNED_KIND_ADDED or covered & found:
        return set()
    if kind == VIOLENCE and _FAMILY_RE.search(norm):
        kind = DOMESTIC
    return {kind}


def is_emergency(text: str) -> bool:
    return detect(text).is_emergency
