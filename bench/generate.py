"""Generate N realistic evaluation sheets in hyoka's own content format, deterministically.

    python bench/generate.py N OUT_DIR [--seed S] [--years K] [--no-link]

Writes OUT_DIR/site_config.yaml (the project's), OUT_DIR/content/<year>/<id>.md for N sheets, and
links OUT_DIR/templates and OUT_DIR/assets to the project's, so that
`python build.py --config OUT_DIR/site_config.yaml build` builds the corpus as a project of its own.

The sheets vary the real ones in content/2025/: 7 部局 with 22 課, the 総合計画 of 6 目標, SDGs
sets per 課, K evaluation years (default 5: 2021–2025) so that program ids repeat across years with
history (values carried over, the odd rename or reorganisation), 2–8 indicators with some
lower-is-better ones and some missing values (null), cost tables that pass the consistency checks
(total = operating + personnel, personnel = staff_regular × personnel_unit_cost), ratings from the
config's choice lists and Markdown bodies with lists. Every file is written by hyoka.dump.dump_sheet,
and every sheet passes `python build.py check --strict` (tests/test_bench_generate.py).
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hyoka import dump  # noqa: E402
from hyoka.config import load_config  # noqa: E402

# dump_sheet asks the YAML loader whether each string can stay plain; the answer depends on the
# string alone, and the corpus repeats its strings thousands of times.
dump._plain_ok = functools.lru_cache(maxsize=None)(dump._plain_ok)  # type: ignore[assignment]

LATEST_YEAR = 2025

# -- 総合計画: 目標 → 基本 → 分野 -----------------------------------------------------------------

PLAN: dict[str, dict[str, list[str]]] = {
    "1.子育て・教育・文化": {
        "1.子育て支援": ["1.子育て支援", "2.母子保健"],
        "2.学校教育": ["1.学校教育", "2.教育環境"],
        "3.生涯学習・文化": ["1.生涯学習", "2.スポーツ", "3.文化芸術"],
    },
    "2.健康・福祉": {
        "1.健康づくり": ["1.保健予防", "2.地域医療"],
        "2.地域福祉": ["1.地域福祉", "2.障がい者福祉", "3.高齢者福祉"],
        "3.社会保障": ["1.国民健康保険", "2.介護保険"],
    },
    "3.安全・安心・環境": {
        "1.防災・防犯": ["1.防災", "2.消防・救急", "3.防犯・交通安全"],
        "2.環境": ["1.環境保全", "2.ごみ処理"],
    },
    "4.産業・雇用": {
        "1.農業": ["1.農業振興", "2.農村整備"],
        "2.商工観光": ["1.商工業", "2.観光", "3.雇用"],
    },
    "5.都市基盤": {
        "1.都市計画": ["1.都市計画", "2.公園緑地"],
        "2.道路・交通": ["1.道路", "2.公共交通"],
        "3.上下水道": ["1.上水道", "2.下水道"],
    },
    "6.市民協働、行財政運営": {
        "1.市民協働": ["1.市民協働", "2.人権・男女共同参画"],
        "2.広域連携、行財政運営": ["1.行政運営", "2.情報化", "3.行財政改革", "4.財政運営"],
    },
}


@dataclass(frozen=True)
class Division:
    """One 課 with what its sheets draw from."""

    bureau: str
    name: str
    slug: str
    sections: tuple[str, ...]
    plan: tuple[tuple[int, int], ...]  # (goal index, basic index) in PLAN
    sdgs: tuple[int, ...]
    budget: tuple[str, str, str, str]  # 区分, 款, 項, 目
    beneficiaries: tuple[str, ...]
    subjects: tuple[str, ...]


def _d(bureau: str, name: str, slug: str, sections: str, plan: tuple[tuple[int, int], ...], sdgs: tuple[int, ...],
       budget: str, beneficiaries: str, subjects: str) -> Division:
    return Division(bureau, name, slug, tuple(sections.split()), plan, sdgs,
                    tuple(budget.split("/")), tuple(beneficiaries.split()), tuple(subjects.split()))  # type: ignore[arg-type]


DIVISIONS: tuple[Division, ...] = (
    _d("市長公室", "秘書広報課", "hisho", "秘書係 広報広聴係", ((5, 0), (5, 1)), (16, 17),
       "一般会計/2 総務費/1 総務管理費/1 一般管理費", "市民 職員",
       "市報発行 広聴活動 ホームページ運用・維持管理 報道対応 市民相談 表彰 シティプロモーション"),
    _d("市長公室", "企画課", "kikaku", "企画係 政策調整係", ((5, 1), (5, 0)), (11, 17),
       "一般会計/2 総務費/1 総務管理費/5 企画費", "市民 職員 市外者",
       "総合計画進行管理 地域公共交通対策 移住定住促進 ふるさと納税 広域連携推進 統計調査 大学連携"),
    _d("市長公室", "DX推進課", "dx", "DX推進係 情報管理係", ((5, 1),), (9, 11, 12),
       "一般会計/2 総務費/1 総務管理費/6 情報管理費", "市民 職員",
       "AI・RPA利用推進 行政手続きオンライン化 情報セキュリティ対策 内部情報系システム運用 "
       "住民情報系システム運用 デジタルデバイド対策 ICT人材育成 マイナンバー制度関連 スマートフォン購入補助"),
    _d("総務部", "総務課", "somu", "総務係 法制係", ((5, 1),), (16,),
       "一般会計/2 総務費/1 総務管理費/1 一般管理費", "職員 市民",
       "文書管理 例規整備 情報公開 庁舎維持管理 公用車管理 選挙執行 行政不服審査"),
    _d("総務部", "財政課", "zaisei", "財政係 管財係", ((5, 1),), (16, 17),
       "一般会計/2 総務費/1 総務管理費/3 財政管理費", "職員 市民",
       "予算編成 公有財産管理 基金管理 地方債管理 公共施設等総合管理 入札契約"),
    _d("総務部", "税務課", "zeimu", "市民税係 資産税係", ((5, 1),), (16, 17),
       "一般会計/2 総務費/2 徴税費/2 賦課徴収費", "市民 事業者",
       "市民税賦課 固定資産税賦課 軽自動車税賦課 家屋評価 土地評価 課税資料整備"),
    _d("総務部", "収納課", "shuno", "収納係 滞納整理係", ((5, 1),), (16,),
       "一般会計/2 総務費/2 徴税費/2 賦課徴収費", "市民 事業者",
       "市税収納 滞納整理 口座振替推進 コンビニ収納 キャッシュレス納付 納税相談"),
    _d("市民生活部", "市民課", "shimin", "住民係 戸籍係", ((5, 0), (5, 1)), (10, 16),
       "一般会計/2 総務費/3 戸籍住民基本台帳費/1 戸籍住民基本台帳費", "市民",
       "戸籍事務 住民基本台帳事務 マイナンバーカード交付 証明書コンビニ交付 窓口サービス改善 人権啓発"),
    _d("市民生活部", "生活環境課", "kankyo", "環境保全係 廃棄物対策係", ((2, 1),), (6, 7, 11, 12, 13, 14, 15),
       "一般会計/4 衛生費/2 清掃費/1 清掃総務費", "市民 事業者",
       "ごみ収集運搬 資源物回収 不法投棄対策 地球温暖化対策 公害防止 生活排水対策 住宅用太陽光発電補助 環境美化"),
    _d("市民生活部", "防災危機管理課", "bosai", "防災係 交通防犯係", ((2, 0),), (11, 13, 16),
       "一般会計/9 消防費/1 消防費/5 災害対策費", "市民 事業者",
       "防災訓練 自主防災組織育成 防災行政無線 備蓄品整備 消防団活動支援 防犯灯設置 交通安全推進"),
    _d("保健福祉部", "社会福祉課", "fukushi", "福祉係 障がい福祉係", ((1, 1),), (1, 3, 10),
       "一般会計/3 民生費/1 社会福祉費/1 社会福祉総務費", "市民 障がい者",
       "生活保護 生活困窮者自立支援 障害福祉サービス 地域生活支援 民生委員活動支援 福祉タクシー 手話通訳者派遣"),
    _d("保健福祉部", "介護保険課", "kaigo", "介護保険係 高齢福祉係", ((1, 2), (1, 1)), (3, 10),
       "介護保険特別会計/1 総務費/1 総務管理費/1 一般管理費", "高齢者 市民",
       "介護認定 介護予防 地域包括支援センター運営 認知症施策推進 高齢者見守り 配食サービス 老人クラブ助成"),
    _d("保健福祉部", "こども家庭課", "kodomo", "子育て支援係 保育係", ((0, 0),), (1, 3, 4, 5),
       "一般会計/3 民生費/2 児童福祉費/1 児童福祉総務費", "子ども 保護者",
       "児童手当支給 放課後児童クラブ運営 保育所運営 病児保育 子育て支援センター運営 "
       "ひとり親家庭支援 こども医療費助成 家庭児童相談"),
    _d("保健福祉部", "保健センター", "hoken", "成人保健係 母子保健係", ((1, 0), (0, 0)), (2, 3),
       "一般会計/4 衛生費/1 保健衛生費/2 予防費", "市民 子ども",
       "各種がん検診 予防接種 乳幼児健康診査 健康相談 特定保健指導 食育推進 妊婦支援"),
    _d("経済部", "商工観光課", "shoko", "商工係 観光係", ((3, 1),), (8, 9, 11),
       "一般会計/7 商工費/1 商工費/2 商工振興費", "事業者 市民 市外者",
       "中小企業融資 創業支援 商店街活性化 観光イベント 観光案内所運営 企業誘致 雇用対策"),
    _d("経済部", "農政課", "nosei", "農政係 農地整備係", ((3, 0),), (2, 8, 12, 15),
       "一般会計/6 農林水産業費/1 農業費/3 農業振興費", "農業者 市民",
       "担い手育成 農地集積 鳥獣被害対策 地産地消推進 土地改良 農業用施設維持 有害鳥獣駆除"),
    _d("建設部", "建設課", "kensetsu", "道路係 維持係", ((4, 1),), (9, 11),
       "一般会計/8 土木費/2 道路橋りょう費/2 道路維持費", "市民",
       "市道維持補修 橋りょう長寿命化 道路新設改良 排水路整備 道路照明 除草・清掃"),
    _d("建設部", "都市整備課", "toshi", "都市計画係 公園係", ((4, 0), (4, 1)), (11, 15),
       "一般会計/8 土木費/4 都市計画費/1 都市計画総務費", "市民",
       "都市計画 公園維持管理 空き家対策 景観形成 市営住宅管理 駅周辺整備 コミュニティバス運行"),
    _d("建設部", "上下水道課", "suido", "水道係 下水道係", ((4, 2),), (6, 14),
       "下水道事業会計/1 下水道事業費用/1 営業費用/1 管渠費", "市民 事業者",
       "水道施設維持 下水道管渠整備 浄化槽設置補助 水質検査 料金徴収 耐震化"),
    _d("教育委員会", "学校教育課", "gakko", "学務係 指導係", ((0, 1),), (4, 10),
       "一般会計/10 教育費/2 小学校費/1 学校管理費", "子ども 保護者 教職員",
       "学校給食 就学援助 ICT教育推進 英語教育推進 いじめ・不登校対策 スクールバス運行 特別支援教育"),
    _d("教育委員会", "生涯学習課", "shogai", "生涯学習係 文化係", ((0, 2),), (4, 11, 17),
       "一般会計/10 教育費/5 社会教育費/1 社会教育総務費", "市民",
       "公民館講座 図書館運営 文化財保護 青少年健全育成 成人式 芸術文化振興"),
    _d("教育委員会", "スポーツ振興課", "sports", "スポーツ振興係 施設係", ((0, 2),), (3, 4),
       "一般会計/10 教育費/6 保健体育費/1 保健体育総務費", "市民",
       "スポーツ大会開催 体育施設管理 スポーツ少年団支援 健康マラソン 総合型地域スポーツクラブ支援"),
)

SUFFIXES = ("事業", "事務", "事業", "管理事業", "推進事業")
AREAS = ("北部", "南部", "東部", "西部", "中央", "大宝", "騰波ノ江", "上妻", "豊加美", "総上", "高道祖")
IMPLEMENTERS = ("直営", "直営", "直営・外部委託", "直営、外部委託", "外部委託", "補助")
FUNDS_EXTRA = ("国民健康保険特別会計", "後期高齢者医療特別会計")

# (name, unit, scale low, scale high, decimals); {s} is the subject.
ACTIVITY = (
    ("{s}の実施回数", "回", 2, 40, 0), ("広報・周知回数", "回", 2, 24, 0), ("相談件数", "件/年", 20, 1500, 0),
    ("講座・教室の開催回数", "回/年", 2, 60, 0), ("点検実施箇所数", "箇所", 5, 300, 0),
    ("訪問件数", "件", 10, 900, 0), ("補助金交付件数", "件", 5, 400, 0), ("研修会開催回数", "回", 1, 12, 0),
    ("申請受付件数", "件/年", 30, 5000, 0), ("整備延長", "m", 100, 4000, 0), ("配布部数", "部", 500, 30000, 0),
)
OUTCOME = (
    ("{s}の参加者数", "人", 20, 5000, 0), ("利用者数", "人/年", 50, 60000, 0), ("利用者満足度", "%", 50, 98, 1),
    ("目標達成率", "%", 40, 100, 1), ("登録者数", "人", 10, 8000, 0), ("事業参加率", "%", 5, 90, 1),
    ("トップページ年間アクセス件数", "件/年", 20000, 300000, 0), ("オンライン申請の割合", "%", 5, 80, 1),
)
LOWER = (
    ("苦情件数", "件/年", 0, 30, 0), ("事故発生件数", "件", 0, 20, 0), ("未処理件数", "件", 0, 80, 0),
    ("処理期限超過件数", "件/年", 0, 15, 0),
)
# Lower-is-better indicators that belong to one 課 (by slug).
LOWER_OF: dict[str, tuple[tuple[str, str, int, int, int], ...]] = {
    "dx": (("システム障害発生回数", "回/年", 0, 6, 0), ("個人情報漏洩件数", "件/年", 0, 2, 0),
           ("コンピュータウィルス検知件数", "件/年", 0, 10, 0)),
    "kodomo": (("待機児童数", "人", 0, 40, 0),),
    "kankyo": (("不法投棄件数", "件", 0, 120, 0), ("ごみ排出量（1人1日当たり）", "g", 700, 1000, 0)),
    "bosai": (("交通事故発生件数", "件/年", 50, 300, 0), ("刑法犯認知件数", "件/年", 100, 600, 0)),
    "shuno": (("滞納繰越額", "千円", 10000, 300000, 0),),
    "suido": (("漏水件数", "件/年", 0, 60, 0),),
    "gakko": (("不登校児童生徒数", "人", 10, 120, 0),),
}
INDICATOR_DESCRIPTIONS = (
    "{s}に関する{n}（年度末時点）", "{n}を担当課で集計したもの", "{s}の{n}", None,
    "{n}。年度ごとに集計する", "{s}の実績として{n}を計上",
)

COMMENTS: dict[str, tuple[str, ...]] = {
    "need": ("国が推進している事業である", "市民ニーズが高く今後も必要", "法令で義務付けられているため必要",
             "住民サービスに影響を及ぼすため必要", "高齢化の進行により需要が増加している", "利用者が減少傾向にある"),
    "target_fit": ("対象者を変更する余地はない", "対象を拡大する余地がある", "受益者が限定されている",
                   "要件を見直す必要がある"),
    "actor_fit": ("市が推進すべき", "外部委託の必要はない", "一部を民間事業者に委託している",
                  "民間のサービスで代替できる可能性がある", "秘匿性の高い情報を扱うため市が実施すべき"),
    "indicator_result": ("期待した成果が上がった", "想定どおりの対応ができた", "目標値を大きく上回った",
                         "目標をわずかに下回った", "ニーズが低下した可能性あり", "天候の影響で参加者が減少した"),
    "cost_reduction": ("現状が最低の経費である", "委託内容の見直しにより削減の余地あり", "直営のため既に委託料を削減している",
                       "資材価格の高騰により削減は困難", "共同調達により削減の余地あり"),
    "cost_effectiveness": ("費用に見合う効果が出ている", "効果の検証が必要", "参加者一人当たりの経費が高い"),
    "means": ("現在の手段が最も効率的", "オンライン化により手段を見直す余地あり", "他市町村と共同で実施する余地あり"),
    "direction": ("現状維持", "事業規模を拡大する", "実施方法を見直す", "令和8年度で事業を終了する",
                  "他事業と統合して効率化を図る"),
}

ISSUES = (
    "{s}の利用者が年々減少しており、周知方法の見直しが必要である。",
    "担当職員の事務負担が大きく、業務の効率化が課題となっている。",
    "物価高騰により、{s}に係る経費が増加している。",
    "対象者のニーズが多様化しており、きめ細かな対応が求められている。",
    "国の制度改正に伴い、事務手続きの変更が必要となっている。",
    "施設・設備の老朽化が進んでおり、計画的な修繕が必要である。",
    "近隣市町との連携が十分ではなく、広域的な取組みが求められている。",
    "申請手続きのデジタル化が遅れており、窓口での待ち時間が長い。",
    "事業の効果を測る指標が十分ではない。",
    "担い手の高齢化が進み、{s}の継続が難しくなっている。",
)
FUTURE = (
    "{s}の周知を強化し、利用者の増加を図る。",
    "関係機関と連携し、効果的な事業運営に努める。",
    "令和{y}年度中に実施方法を見直す。",
    "オンライン申請を導入し、市民の利便性向上を図る。",
    "事業の効果を検証し、必要に応じて規模を見直す。",
    "受益者負担の適正化について検討する。",
    "国・県の補助制度を活用し、市の負担の軽減を図る。",
    "AI・RPA を活用して事務の効率化を進める。",
    "利用者アンケートを実施し、満足度の向上に努める。",
)


@dataclass
class IndicatorPlan:
    """An indicator of a program with its values over every fiscal year it could show."""

    kind: str
    name: str
    description: str | None
    unit: str
    lower_is_better: bool
    targets: dict[int, float | int | None]
    actuals: dict[int, float | int | None]


@dataclass
class ProgramPlan:
    """A program (one id) over its evaluation years."""

    id: str
    division: Division
    section: str
    title: str
    subject: str
    plan: tuple[str, str, str]
    sdgs: list[int]
    purpose: str
    description: str
    category: str
    implementer: str
    beneficiaries: str
    budget: tuple[str, str, str, str]
    indicators: list[IndicatorPlan]
    years: list[int]
    staff: dict[int, float] = field(default_factory=dict)
    operating: dict[int, int] = field(default_factory=dict)


def _value(rng: random.Random, low: float, high: float, decimals: int) -> int | float:
    x = rng.uniform(low, high)
    return round(x, decimals) if decimals else round(x)


def _indicator(rng: random.Random, kind: str, subject: str, years: range, used: set[str],
               div: Division) -> IndicatorPlan:
    lower = rng.random() < 0.2
    pool = (LOWER + LOWER_OF.get(div.slug, ())) if lower else (ACTIVITY if kind == "activity" else OUTCOME)
    for _ in range(10):
        name, unit, low, high, dec = rng.choice(pool)
        name = name.format(s=subject)
        if name not in used:
            break
    else:
        name = f"{name}（{len(used) + 1}）"
    used.add(name)
    desc = rng.choice(INDICATOR_DESCRIPTIONS)
    targets: dict[int, float | int | None] = {}
    actuals: dict[int, float | int | None] = {}
    if not lower:
        target: int | float = _value(rng, low, high, dec)
    elif low == 0:
        target = 0 if rng.random() < 0.6 else _value(rng, 1, max(1, high / 4), dec)
    else:
        target = _value(rng, low, (low + high) / 2, dec)
    for y in years:
        if rng.random() < 0.15 and not (lower and target == 0):  # targets change now and then
            target = _value(rng, low, high, dec) if not lower else max(0, int(target * rng.uniform(0.8, 1.0)))
        targets[y] = None if rng.random() < 0.04 else target
        if lower:
            actual: float | int = max(0, round(target + rng.uniform(-0.3, 0.4) * (high - low) / 2))
        else:
            actual = target * rng.uniform(0.55, 1.3) if target else _value(rng, low, high, dec)
            actual = round(actual, dec) if dec else round(actual)
            if unit == "%":
                actual = min(actual, 100.0)
        actuals[y] = None if rng.random() < 0.04 else actual
    return IndicatorPlan(kind, name, desc.format(s=subject, n=name) if desc else None, unit, lower,
                         targets, actuals)


def _program(rng: random.Random, number: int, titles: set[str], years: list[int],
             categories: tuple[str, ...]) -> ProgramPlan:
    div = DIVISIONS[rng.randrange(len(DIVISIONS))]
    subject = rng.choice(div.subjects)
    title = subject if subject.endswith(("事務", "事業")) else subject + rng.choice(SUFFIXES)
    if title in titles:
        title = f"{rng.choice(AREAS)}地区{title}"
    if title in titles:
        title = f"{title}（その{number}）"
    titles.add(title)
    gi, bi = rng.choice(div.plan)
    goal = list(PLAN)[gi]
    basic = list(PLAN[goal])[bi]
    fld = rng.choice(PLAN[goal][basic])
    sdgs = sorted(rng.sample(div.sdgs, rng.randint(0, min(3, len(div.sdgs)))))
    shown = range(years[0] - 2, years[-1] + 3)
    used: set[str] = set()
    count = rng.randint(2, 8)
    kinds = ["activity", "outcome"] + [rng.choice(("activity", "outcome")) for _ in range(count - 2)]
    kinds.sort(key=lambda k: k != "activity")
    indicators = [_indicator(rng, k, subject, shown, used, div) for k in kinds]
    fund, kan, kou, moku = div.budget
    if rng.random() < 0.05:
        fund = rng.choice(FUNDS_EXTRA)
    prog = ProgramPlan(
        id=f"{div.slug}-{number:05d}", division=div, section=rng.choice(div.sections), title=title,
        subject=subject, plan=(goal, basic, fld), sdgs=sdgs,
        purpose=f"{subject}を通じて、{rng.choice(div.beneficiaries)}の{rng.choice(('利便性の向上', '安全・安心の確保', '負担の軽減', '生活の質の向上', '健康の維持増進'))}を図る。",
        description=f"{subject}に係る{rng.choice(('事務', '業務', '事業', '施設の管理'))}を{rng.choice(('行う', '実施する', '委託により実施する', '関係機関と連携して実施する'))}。",
        category=rng.choices(categories, weights=(3, 6, 1) if len(categories) == 3 else None)[0],
        implementer=rng.choice(IMPLEMENTERS),
        beneficiaries="、".join(rng.sample(div.beneficiaries, rng.randint(1, len(div.beneficiaries)))),
        budget=(fund, kan, kou, moku), indicators=indicators, years=years,
    )
    staff = round(rng.choice((0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 3.0)), 2)
    operating = int(rng.lognormvariate(8, 1.4))
    for y in shown:
        if rng.random() < 0.2:
            staff = round(max(0.05, staff + rng.choice((-0.1, -0.05, 0.05, 0.1))), 2)
        prog.staff[y] = staff
        prog.operating[y] = max(0, int(operating * rng.uniform(0.8, 1.2)))
    return prog


def _spans(rng: random.Random, n: int, years: list[int]) -> list[list[int]]:
    """Evaluation years of each program until n sheets: long-lived programs, a few new or ended."""
    spans: list[list[int]] = []
    total = 0
    k = len(years)
    weights = [1.0 + 1.5 * (i / max(1, k - 1)) for i in range(k)]  # longer spans more likely
    weights[-1] *= 2
    while total < n:
        length = rng.choices(range(1, k + 1), weights=weights)[0]
        start = k - length if rng.random() < 0.8 else rng.randint(0, k - length)
        span = years[start:start + length][: n - total]
        spans.append(span)
        total += len(span)
    return spans


def _body(rng: random.Random, subject: str, year: int) -> str:
    def block(pool: tuple[str, ...]) -> str:
        items = [s.format(s=subject, y=year - 2018 + rng.randint(0, 1)) for s in rng.sample(pool, rng.randint(1, 4))]
        style = rng.random()
        if len(items) == 1 or style < 0.3:
            return "".join(items)
        if style < 0.85:
            return "\n".join(f"- {i}" for i in items)
        return "\n".join(f"{n}. {i}" for n, i in enumerate(items, 1))

    text = f"## 現状の課題\n\n{block(ISSUES)}\n\n## 今後の取組み\n\n{block(FUTURE)}"
    if rng.random() < 0.15:
        text += f"\n\n### 参考\n\n詳しくは{subject}の**実施要綱**を参照。"
    return text


def _rating(rng: random.Random, choices: tuple[str, ...]) -> str | None:
    if rng.random() < 0.03:
        return None
    return choices[min(len(choices) - 1, int(rng.expovariate(1.2)))]  # the first choices are the common ones


def sheet_data(rng: random.Random, prog: ProgramPlan, year: int, choices: dict[str, Any],
               unit_cost: float) -> dict[str, Any]:
    """The front matter of one program's sheet for one evaluation year."""
    div = prog.division
    if year == prog.years[-1] and len(prog.years) > 2 and rng.random() < 0.05:
        prog.title = prog.title.replace("事務", "事業") if "事務" in prog.title else prog.title + "（拡充）"
    values_years = range(year - 2, year + 1)
    indicators = []
    for ind in prog.indicators:
        values = {}
        for y in values_years:
            actual = ind.actuals[y]
            if y == year and rng.random() < 0.5:
                actual = None  # not settled when the sheet is written
            values[y] = {"target": ind.targets[y], "actual": actual}
        indicators.append({"kind": ind.kind, "name": ind.name, "description": ind.description, "unit": ind.unit,
                           "lower_is_better": ind.lower_is_better, "values": values})
    costs = {}
    last = year + 2 if rng.random() < 0.7 else year + 1
    for y in range(year - 2, last + 1):
        kind = "決算" if y < year else "予算" if y == year else "予定"
        staff = prog.staff[y]
        personnel = round(staff * unit_cost)
        operating = prog.operating[y]
        revenue = int(operating * rng.choice((0, 0, 0, 0.25, 0.5, 0.75)))
        nonregular = rng.choice((None, 0.0, 0.0, 0.5, 1.0))
        col: dict[str, Any] = {"kind": kind, "total": operating + personnel, "operating": operating,
                               "specific_revenue": revenue, "staff_regular": staff,
                               "staff_nonregular": nonregular, "personnel": personnel}
        if kind == "予定" and rng.random() < 0.1:
            col.update(total=None, operating=None)  # not planned yet: missing, not zero
        costs[y] = col
    evaluation = {}
    for key, pool in COMMENTS.items():
        rating = _rating(rng, tuple(choices["evaluation"][key]))
        comment = rng.choice(pool) if rating is not None and (key not in ("cost_effectiveness", "means")
                                                              or rng.random() < 0.3) else None
        evaluation[key] = {"rating": rating, "comment": comment}
    plan = prog.plan
    if rng.random() < 0.1:  # spacing varies between sheets, as in the real ones (「6. 市民協働」)
        plan = tuple(p.replace(".", ". ", 1) for p in plan)  # type: ignore[assignment]
    return {
        "id": prog.id, "evaluation_year": year, "results_year": year - 1, "title": prog.title,
        "organization": {"bureau": div.bureau, "division": div.name, "section": prog.section},
        "plan": {"goal": plan[0], "basic": plan[1], "field": plan[2]},
        "sdgs": prog.sdgs, "purpose": prog.purpose, "description": prog.description,
        "category": prog.category, "implementer": prog.implementer, "beneficiaries": prog.beneficiaries,
        "indicators": indicators,
        "budget_account": dict(zip(("fund", "kan", "kou", "moku"), prog.budget, strict=True)),
        "costs": costs, "evaluation": evaluation,
    }


def generate(n: int, out: Path, seed: int = 1, years: int = 5, link: bool = True) -> list[Path]:
    """Write the corpus; return the content files in the order written."""
    config = load_config(ROOT)
    choices = config.choices
    rng = random.Random(seed)
    eval_years = list(range(LATEST_YEAR - years + 1, LATEST_YEAR + 1))
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "site_config.yaml", out / "site_config.yaml")
    if link:
        for name in ("templates", "assets"):
            target = out / name
            if not target.exists() and not target.is_symlink():
                os.symlink(ROOT / name, target)
    content = out / "content"
    if content.exists():
        shutil.rmtree(content)
    titles: set[str] = set()
    written: list[Path] = []
    made: set[Path] = set()
    for number, span in enumerate(_spans(rng, n, eval_years), 1):
        prog = _program(rng, number, titles, span, tuple(choices["category"]))
        for year in span:
            data = sheet_data(rng, prog, year, choices, config.personnel_unit_cost)
            path = content / str(year) / f"{prog.id}.md"
            if path.parent not in made:
                path.parent.mkdir(parents=True, exist_ok=True)
                made.add(path.parent)
            path.write_text(dump.dump_sheet(data, _body(rng, prog.subject, year)), encoding="utf-8")
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("n", type=int, help="number of sheets")
    p.add_argument("out", type=Path, help="output project folder")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--years", type=int, default=5, help="evaluation years (3–5 recommended)")
    p.add_argument("--no-link", action="store_true", help="do not link templates/ and assets/ into OUT_DIR")
    args = p.parse_args(argv)
    files = generate(args.n, args.out, args.seed, args.years, link=not args.no_link)
    print(f"{len(files)} sheets in {args.out / 'content'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
