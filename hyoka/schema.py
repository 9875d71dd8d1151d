"""The one declaration of every sheet field: key, 和名, type, unit, choices and help.

Validation, the editor JSON Schema, the docs table and (later) the scaffold all read this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["str", "text", "slug", "int", "number", "bool", "year", "choice", "object",
               "list", "year_map", "map"]


@dataclass(frozen=True)
class Field:
    """One key of a sheet (or of the site configuration)."""

    key: str
    label: str  # 和名
    kind: Kind
    help: str
    required: bool = False
    unit: str | None = None
    choices: str | None = None  # dotted path under `choices:` in site_config.yaml
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    fields: tuple[Field, ...] = ()  # object, list items and year_map values
    item: Field | None = None  # list of scalars
    default: Any = None
    examples: tuple[Any, ...] = field(default=())

    def child(self, key: str) -> Field | None:
        """The sub-field named `key`."""
        return next((f for f in self.fields if f.key == key), None)


SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
YEAR_MIN, YEAR_MAX = 1900, 2200
TEXT_MAX = 5000  # characters in one value: a sheet cell, not a document

_target_actual = (
    Field("target", "目標", "number", "その年度の目標値。空欄は null（0 ではありません）。"),
    Field("actual", "実績", "number", "その年度の実績値。未確定・空欄は null（0 ではありません）。"),
)

_cost_year = (
    Field("kind", "区分", "choice", "決算・予算・予定の別（選択肢は site_config.yaml の choices.cost_kind）。",
          choices="cost_kind", required=True),
    Field("total", "総事業費", "number", "事業経費と概算人件費の合計。", unit="千円", minimum=0),
    Field("operating", "事業経費", "number", "人件費を除く事業の経費。", unit="千円", minimum=0),
    Field("specific_revenue", "特定財源", "number", "国・県の補助金など、この事業のための収入。",
          unit="千円", minimum=0),
    Field("staff_regular", "従事常勤職員数", "number", "この事業に従事した常勤職員の人数（年間換算）。",
          unit="人", minimum=0),
    Field("staff_nonregular", "従事非常勤職員数", "number",
          "この事業に従事した非常勤職員の人数（年間換算）。", unit="人", minimum=0),
    Field("personnel", "概算人件費", "number", "従事常勤職員数 × 人件費単価（site_config.yaml の personnel_unit_cost）。",
          unit="千円", minimum=0),
)


def _eval_item(key: str, label: str, group: str, help_text: str) -> Field:
    return Field(key, label, "object", f"{group}: {help_text}", fields=(
        Field("rating", "評価", "choice", f"{label}の評価（選択肢は site_config.yaml の choices.evaluation.{key}）。",
              choices=f"evaluation.{key}"),
        Field("comment", "説明", "text", f"{label}の評価の理由・説明。", max_length=TEXT_MAX),
    ))


EVALUATION_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("必要性", ("need", "target_fit", "actor_fit")),
    ("有効性", ("indicator_result",)),
    ("効率性", ("cost_reduction",)),
    ("総合評価", ("cost_effectiveness", "means", "direction")),
)

INDICATOR_KINDS: dict[str, str] = {"activity": "活動指標", "outcome": "成果指標"}

# The 17 goals' Japanese names (国連広報センター), as the sheets print them beside the numbers.
SDG_NAMES: dict[int, str] = {
    1: "貧困をなくそう", 2: "飢餓をゼロに", 3: "すべての人に健康と福祉を", 4: "質の高い教育をみんなに",
    5: "ジェンダー平等を実現しよう", 6: "安全な水とトイレを世界中に", 7: "エネルギーをみんなにそしてクリーンに",
    8: "働きがいも経済成長も", 9: "産業と技術革新の基盤をつくろう", 10: "人や国の不平等をなくそう",
    11: "住み続けられるまちづくりを", 12: "つくる責任つかう責任", 13: "気候変動に具体的な対策を",
    14: "海の豊かさを守ろう", 15: "陸の豊かさも守ろう", 16: "平和と公正をすべての人に",
    17: "パートナーシップで目標を達成しよう",
}

SHEET = Field("sheet", "事務事業評価シート", "object", "1つの事務事業の1年度分の評価シート。", fields=(
    Field("id", "事業ID", "slug",
          "事業を表す半角英小文字・数字・ハイフンの名前。ページのURLになり、年度が変わっても同じ事業は同じ id にします。",
          required=True, max_length=64, examples=("smartphone-subsidy",)),
    Field("evaluation_year", "評価年度", "year", "評価を行った年度（西暦）。令和7年度なら 2025。", required=True),
    Field("results_year", "実績年度", "year", "評価の対象とした実績の年度（西暦）。通常は評価年度の前年度。",
          required=True),
    Field("title", "事務事業名", "str", "事務事業の名称。", required=True, max_length=200),
    Field("organization", "担当組織", "object", "事業を担当する部局・課・係。", required=True, fields=(
        Field("bureau", "部局", "str", "部局名（例: 市長公室）。", required=True, max_length=100),
        Field("division", "課", "str", "課名（例: DX推進課）。", required=True, max_length=100),
        Field("section", "係", "str", "係名（例: DX推進係）。", max_length=100),
    )),
    Field("plan", "総合計画の体系", "object", "総合計画での位置づけ（目標・基本・分野）。", fields=(
        Field("goal", "目標", "str", "総合計画の目標（例: 6.市民協働、行財政運営）。", max_length=200),
        Field("basic", "基本", "str", "総合計画の基本施策（例: 2.広域連携、行財政運営）。", max_length=200),
        Field("field", "分野", "str", "総合計画の分野（例: 2.情報化）。", max_length=200),
    )),
    Field("sdgs", "SDGs目標", "list", "関連する SDGs のゴール番号（1〜17）の並び（例: [9, 11]）。",
          item=Field("goal", "ゴール番号", "int", "SDGs のゴール番号。", minimum=1, maximum=17)),
    Field("purpose", "目的", "text", "事業の目的。", max_length=TEXT_MAX),
    Field("description", "内容", "text", "事業の内容。", max_length=TEXT_MAX),
    Field("category", "種別", "choice", "事務の種別（選択肢は site_config.yaml の choices.category）。",
          choices="category"),
    Field("implementer", "主体", "str", "実施の主体（例: 直営、直営・外部委託）。", max_length=200),
    Field("beneficiaries", "対象・受益者", "str", "事業の対象・受益者（例: 市民、職員）。", max_length=200),
    Field("indicators", "指標", "list", "活動指標と成果指標。いくつでも書けます。指標がなければ [] にします。",
          fields=(
              Field("kind", "指標の種類", "choice",
                    "activity（活動指標: 何をどれだけ行ったか）または outcome（成果指標: どんな成果が出たか）。",
                    required=True, choices="indicator_kind"),
              Field("name", "指標名", "str", "指標の名前。", required=True, max_length=200),
              Field("description", "説明", "text", "指標の説明・測り方。", max_length=TEXT_MAX),
              Field("unit", "単位", "str", "数値の単位（例: 回、件、人、%）。", max_length=50),
              Field("lower_is_better", "少ないほど良い", "bool",
                    "true にすると、実績が目標以下で達成とみなします（障害件数など）。", default=False),
              Field("values", "年度別の値", "year_map", "年度（西暦）ごとの目標と実績。",
                    fields=_target_actual),
          )),
    Field("budget_account", "予算科目", "object", "予算上の区分・款・項・目。", fields=(
        Field("fund", "区分", "str", "会計区分（例: 一般会計）。", max_length=100),
        Field("kan", "款", "str", "款（例: 2 総務費）。", max_length=100),
        Field("kou", "項", "str", "項（例: 1 総務管理費）。", max_length=100),
        Field("moku", "目", "str", "目（例: 6 情報管理費）。", max_length=100),
    )),
    Field("costs", "事業費", "year_map", "年度（西暦）ごとの事業費と職員数。金額は千円。", fields=_cost_year),
    Field("evaluation", "評価", "object", "事業についての評価（個別評価と総合評価）。", fields=(
        _eval_item("need", "今後の必要性", "必要性", "今後もこの事業が必要とされるか。"),
        _eval_item("target_fit", "対象の適切性", "必要性", "事業の対象は適切か。"),
        _eval_item("actor_fit", "主体の妥当性", "必要性", "市が実施すべき事業か。"),
        _eval_item("indicator_result", "指標の実績", "有効性", "指標の目標を達成できたか。"),
        _eval_item("cost_reduction", "コストの削減", "効率性", "経費を削減する余地があるか。"),
        _eval_item("cost_effectiveness", "費用対効果", "総合評価", "費用に見合う効果があるか。"),
        _eval_item("means", "手段の妥当性", "総合評価", "事業の手段は妥当か。"),
        _eval_item("direction", "事業の方針", "総合評価", "今後の事業の方針。"),
    )),
))

# Sections of the Markdown body, in the order the sheets use.
BODY_SECTIONS: tuple[str, ...] = ("現状の課題", "今後の取組み")

CONFIG = Field("config", "サイト設定", "object", "site_config.yaml: 市区町村ごとに異なる設定。", fields=(
    Field("city", "市区町村名", "str", "サイトを公開する市区町村の名前。", required=True),
    Field("site_title", "サイト名", "str", "サイトの名前（ページのタイトルに使います）。", required=True),
    Field("description", "サイトの説明", "text", "トップページと検索エンジン向けの説明。"),
    Field("base_url", "公開URL", "str", "公開先のURL（末尾の / を含む）。"),
    Field("output_dir", "出力フォルダ", "str", "サイトを書き出すフォルダ。", default="_site"),
    Field("content_dir", "内容フォルダ", "str", "シートを置くフォルダ。", default="content"),
    Field("contact", "問い合わせ先", "object", "フッターに表示する問い合わせ先。", fields=(
        Field("name", "担当", "str", "担当部署の名前（例: 市長公室 DX推進課）。"),
        Field("phone", "電話番号", "str", "電話番号（例: 0296-43-2111）。"),
        Field("email", "メールアドレス", "str", "メールアドレス。"),
        Field("url", "ウェブページ", "str", "問い合わせ先のウェブページの URL。"),
    )),
    Field("year_format", "年度の表示", "choice",
          "wareki: 令和6年度（2024年度）、seireki: 2024年度（令和6年度）。",
          choices="_year_format", default="wareki"),
    Field("personnel_unit_cost", "人件費単価", "number", "常勤職員1人・1年あたりの概算人件費。",
          unit="千円", minimum=0, required=True),
    Field("fiscal_year_range", "年度の範囲", "object", "評価年度の前後何年までの年度を書けるか。", fields=(
        Field("before", "前", "int", "評価年度より前に何年まで。", minimum=0, maximum=50, default=5),
        Field("after", "後", "int", "評価年度より後に何年まで。", minimum=0, maximum=50, default=5),
    )),
    Field("checks", "整合性チェック", "object", "整合性の確認の扱い（warning / error / off）。", fields=(
        Field("total_cost_sum", "総事業費の合計", "choice", "総事業費 = 事業経費 + 概算人件費 の確認。",
              choices="_check_level", default="warning"),
        Field("personnel_cost", "概算人件費の計算", "choice", "概算人件費 = 従事常勤職員数 × 人件費単価 の確認。",
              choices="_check_level", default="warning"),
        Field("results_year", "実績年度", "choice", "実績年度 = 評価年度 − 1 の確認。",
              choices="_check_level", default="warning"),
    )),
    Field("choices", "選択肢", "map", "選択肢の一覧（種別、事業費の区分、評価の各項目）。", required=True),
    Field("search", "検索", "object", "サイト内検索の設定。", fields=(
        Field("synonyms", "同義語", "list",
              "同じものを指す言葉の組の並び（例: [スマホ, スマートフォン]）。シートに組のどれかがあれば、"
              "ほかの言葉でも見つかるようにします。",
              item=Field("group", "同義語の組", "list", "同じものを指す言葉のリスト。",
                         item=Field("word", "言葉", "str", "検索で使われる言葉。", max_length=100))),
    )),
))

CHECK_LEVELS = ("warning", "error", "off")
YEAR_FORMATS = ("wareki", "seireki")


def walk(f: Field, prefix: str = "") -> list[tuple[str, Field]]:
    """Every field with its dotted key path (list items as `[]`, year keys as `<年度>`)."""
    out: list[tuple[str, Field]] = []
    for sub in f.fields:
        path = f"{prefix}{sub.key}"
        out.append((path, sub))
        if sub.kind == "list" and sub.fields:
            out += walk(sub, f"{path}[].")
        elif sub.kind == "year_map":
            out += walk(sub, f"{path}.<年度>.")
        elif sub.kind == "object":
            out += walk(sub, f"{path}.")
    return out
