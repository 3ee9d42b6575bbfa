//! Per-locale data of the `fake` generators: name, street, city, company and phone tables
//! from the `fake` crate, and the gaps and flaws of fake 5.1.0 fixed here.

use fake::Fake;
use fake::faker::address::raw::CityName;
use fake::locales::{
    AR_SA, CY_GB, DE_DE, Data, EN, FA_IR, FR_FR, IT_IT, JA_JP, NL_NL, PT_BR, PT_PT, TR_TR, ZH_CN, ZH_TW,
};
use fake::rand::RngExt;
use fake::rand::rngs::ChaCha8Rng;

use super::Locale;
use super::helpers::pick;
use super::text::push_all;

/// Where the building number goes in `street_address`.
#[derive(Clone, Copy)]
pub(super) enum NumberStyle {
    /// `1234 Main Street` (1 to 9999).
    UsBefore,
    /// `12 Rue Dupont` (1 to 199).
    Before,
    /// `Hauptstraße 12` (1 to 199, sometimes with a letter).
    After,
    /// `Via Roma, 12` (1 to 199).
    AfterComma,
    /// `Atatürk Caddesi No: 12`, from the locale's building-number formats.
    AfterFormat,
    /// `中山路12号`.
    ZhHao,
}

pub(super) struct LocaleData {
    pub(super) first_names: &'static [&'static str],
    pub(super) last_names: &'static [&'static str],
    pub(super) name_tpl: &'static str,
    pub(super) street_tpl: &'static str,
    pub(super) street_suffixes: &'static [&'static str],
    pub(super) building_formats: &'static [&'static str],
    pub(super) number_style: NumberStyle,
    pub(super) city: fn(&mut ChaCha8Rng) -> String,
    pub(super) postcode_formats: &'static [&'static str],
    pub(super) countries: &'static [&'static str],
    pub(super) states: &'static [&'static str],
    pub(super) time_zones: &'static [&'static str],
    pub(super) company_tpls: &'static [&'static str],
    pub(super) company_suffixes: &'static [&'static str],
    pub(super) job_seniority: &'static [&'static str],
    pub(super) job_field: &'static [&'static str],
    pub(super) job_position: &'static [&'static str],
    pub(super) job_title_tpl: &'static str,
    pub(super) phone_formats: &'static [&'static str],
    pub(super) cell_formats: &'static [&'static str],
    pub(super) lorem: &'static [&'static str],
    /// Names are in Latin script (usable, once folded, for emails and usernames).
    pub(super) ascii_names: bool,
    /// fake 5.1.0 has no street data: use the English tables for street names rather than
    /// mixing English street types with names in another script.
    pub(super) en_streets: bool,
    /// Same for company names.
    pub(super) en_companies: bool,
    /// Text without spaces between words (zh_cn lorem).
    pub(super) cjk_text: bool,
}

/// The fake crate's tables for locale `L`.
pub(super) const fn base<L: Data>(city: fn(&mut ChaCha8Rng) -> String) -> LocaleData {
    LocaleData {
        first_names: L::NAME_FIRST_NAME,
        last_names: L::NAME_LAST_NAME,
        name_tpl: L::NAME_TPL,
        street_tpl: L::ADDRESS_STREET_TPL,
        street_suffixes: L::ADDRESS_STREET_SUFFIX,
        building_formats: L::ADDRESS_BUILDING_NUMBER_FORMATS,
        number_style: NumberStyle::UsBefore,
        city,
        postcode_formats: L::ADDRESS_POSTCODE_FORMATS,
        countries: L::ADDRESS_COUNTRY,
        states: L::ADDRESS_STATE,
        time_zones: L::ADDRESS_TIME_ZONE,
        company_tpls: L::COMPANY_NAME_TPLS,
        company_suffixes: L::COMPANY_SUFFIX,
        job_seniority: L::JOB_SENIORITY,
        job_field: L::JOB_FIELD,
        job_position: L::JOB_POSITION,
        job_title_tpl: L::JOB_TITLE_TPL,
        phone_formats: L::PHONE_NUMBER_FORMATS,
        cell_formats: L::PHONE_CELL_NUMBER_FORMATS,
        lorem: L::LOREM_WORD,
        ascii_names: true,
        en_streets: false,
        en_companies: false,
        cjk_text: false,
    }
}

/// City names come from the fake crate's generator (which is locale-specific for de_de and
/// nl_nl), hence one function per locale.
macro_rules! city {
    ($l:expr) => {
        |rng: &mut ChaCha8Rng| CityName($l).fake_with_rng::<String, _>(rng)
    };
}

pub(super) static EN_DATA: LocaleData = LocaleData {
    company_tpls: &["{Name_1} {Suffix}", "{Name_1} and {Name_2}", "{Name_1}-{Name_2}"],
    ..base::<EN>(city!(EN))
};

pub(super) static FR_FR_DATA: LocaleData = LocaleData {
    number_style: NumberStyle::Before,
    states: FR_REGIONS,
    company_tpls: &["{Name_1} {Suffix}", "{Name_1} et {Name_2}", "{Name_1} & {Name_2} {Suffix}"],
    company_suffixes: &["SA", "SARL", "SAS", "et Fils", "Associés"],
    ..base::<FR_FR>(city_fr)
};

/// fake 5.1.0 names French cities after people or with English prefixes and suffixes
/// ("Port Josselin Laurenttown"); this builds French-looking ones from French surnames.
pub(super) fn city_fr(rng: &mut ChaCha8Rng) -> String {
    const RIVERS: &[&str] =
        &["Loire", "Seine", "Marne", "Saône", "Rhône", "Oise", "Mer", "Meuse", "Yonne", "Cher", "Garonne", "Dordogne"];
    const ENDINGS: &[&str] = &["-les-Bains", "-le-Château", "-la-Forêt", "-le-Vieux", "-en-Vexin", "-la-Ville"];
    let mut out = String::with_capacity(24);
    let name = pick(rng, FR_FR::NAME_LAST_NAME);
    match rng.random_range(0..10u8) {
        0..=3 => out.push_str(name),
        4 | 5 => push_all(&mut out, &["Saint-", name]),
        6 | 7 => push_all(&mut out, &[name, "-sur-", pick(rng, RIVERS)]),
        _ => push_all(&mut out, &[name, pick(rng, ENDINGS)]),
    }
    out
}

pub(super) static DE_DE_DATA: LocaleData = LocaleData {
    number_style: NumberStyle::After,
    street_tpl: "{StreetName}{StreetSuffix}",
    // fake 5.1.0's German list is just "Deutschland" and "Germany".
    countries: EN::ADDRESS_COUNTRY,
    postcode_formats: DE_DE::ADDRESS_ZIP_FORMATS,
    time_zones: &["Europe/Berlin"],
    company_tpls: &["{Name_1} {Suffix}", "{Name_1} & {Name_2} {Suffix}", "{Name_1}-{Name_2} {Suffix}"],
    phone_formats: &[
        "030 ########",
        "040 #######",
        "089 ########",
        "0^## #######",
        "0^### ######",
        "015^ #######",
        "017^ #######",
    ],
    cell_formats: &["015^ #######", "016^ #######", "017^ #######"],
    ..base::<DE_DE>(city!(DE_DE))
};

pub(super) static IT_IT_DATA: LocaleData =
    LocaleData { number_style: NumberStyle::AfterComma, ..base::<IT_IT>(city!(IT_IT)) };

pub(super) static PT_BR_DATA: LocaleData = LocaleData {
    number_style: NumberStyle::AfterComma,
    time_zones: &[
        "America/Sao_Paulo",
        "America/Manaus",
        "America/Recife",
        "America/Bahia",
        "America/Fortaleza",
        "America/Belem",
    ],
    company_tpls: &["{Name_1} {Suffix}", "{Name_1}, {Name_2} {Suffix}"],
    countries: PT_PT::ADDRESS_COUNTRY,
    ..base::<PT_BR>(city!(PT_PT))
};

pub(super) static PT_PT_DATA: LocaleData =
    LocaleData { number_style: NumberStyle::AfterComma, ..base::<PT_PT>(city!(PT_PT)) };

pub(super) static NL_NL_DATA: LocaleData = LocaleData {
    number_style: NumberStyle::After,
    street_tpl: "{StreetName}{StreetSuffix}",
    postcode_formats: &["^### $$"],
    company_tpls: &["{Name_1} {Suffix}", "{Name_1} & {Name_2} {Suffix}"],
    ..base::<NL_NL>(city_nl)
};

/// fake 5.1.0's nl_nl city generator leaves a `{River}` placeholder in one city out of five.
pub(super) fn city_nl(rng: &mut ChaCha8Rng) -> String {
    const RIVERS: &[&str] = &[
        "aan den Rijn",
        "aan de Maas",
        "aan den IJssel",
        "aan de Amstel",
        "aan de Vecht",
        "aan de Lek",
        "aan de Waal",
    ];
    let city = CityName(NL_NL).fake_with_rng::<String, _>(rng);
    if city.contains("{River}") { city.replace("{River}", pick(rng, RIVERS)) } else { city }
}

pub(super) static JA_JP_DATA: LocaleData = LocaleData {
    postcode_formats: &["###-####"],
    states: JP_PREFECTURES,
    time_zones: &["Asia/Tokyo"],
    ascii_names: false,
    en_streets: true,
    ..base::<JA_JP>(city!(EN))
};

pub(super) static ZH_CN_DATA: LocaleData = LocaleData {
    number_style: NumberStyle::ZhHao,
    states: CN_PROVINCES,
    time_zones: &["Asia/Shanghai"],
    phone_formats: &["010-########", "021-########", "0^##-#######", "13# #### ####", "15# #### ####", "18# #### ####"],
    cell_formats: &["13# #### ####", "15# #### ####", "18# #### ####"],
    ascii_names: false,
    cjk_text: true,
    ..base::<ZH_CN>(city!(ZH_CN))
};

pub(super) static ZH_TW_DATA: LocaleData = LocaleData {
    postcode_formats: &["^##-##", "^##"],
    time_zones: &["Asia/Taipei"],
    phone_formats: &["02-####-####", "0^-###-####", "09##-###-###"],
    cell_formats: &["09##-###-###"],
    ascii_names: false,
    en_streets: true,
    en_companies: true,
    ..base::<ZH_TW>(city!(EN))
};

pub(super) static AR_SA_DATA: LocaleData = LocaleData {
    postcode_formats: &["^####"],
    time_zones: &["Asia/Riyadh"],
    phone_formats: &["011 ### ####", "012 ### ####", "013 ### ####", "05# ### ####"],
    cell_formats: &["05# ### ####"],
    ascii_names: false,
    en_streets: true,
    en_companies: true,
    ..base::<AR_SA>(city!(EN))
};

pub(super) static CY_GB_DATA: LocaleData = LocaleData {
    number_style: NumberStyle::Before,
    postcode_formats: &["CF^# #$$", "CF^ #$$", "SA^# #$$", "SA^ #$$", "LL^# #$$", "NP^# #$$"],
    time_zones: &["Europe/London"],
    ..base::<CY_GB>(city!(CY_GB))
};

pub(super) static TR_TR_DATA: LocaleData = LocaleData {
    number_style: NumberStyle::AfterFormat,
    company_tpls: &["{Name_1} {Suffix}", "{Name_1} ve {Name_2} {Suffix}"],
    company_suffixes: &["A.Ş.", "Ltd. Şti."],
    building_formats: &["No: ^##", "No: ^#", "No: ^"],
    ..base::<TR_TR>(city!(TR_TR))
};

pub(super) static FA_IR_DATA: LocaleData = LocaleData {
    number_style: NumberStyle::AfterFormat,
    // fake 5.1.0's fa_ir building numbers, city suffixes and company patterns are copied
    // from Portuguese and Italian ("nº 12", "del Castello", " e ").
    building_formats: &["پلاک ^##", "پلاک ^#", "پلاک ^"],
    company_tpls: &["{Name_1} {Suffix}", "{Name_1} و {Name_2} {Suffix}"],
    ascii_names: false,
    ..base::<FA_IR>(city!(EN))
};

pub(super) fn locale_data(l: Locale) -> &'static LocaleData {
    match l {
        Locale::En => &EN_DATA,
        Locale::FrFr => &FR_FR_DATA,
        Locale::DeDe => &DE_DE_DATA,
        Locale::ItIt => &IT_IT_DATA,
        Locale::PtBr => &PT_BR_DATA,
        Locale::PtPt => &PT_PT_DATA,
        Locale::NlNl => &NL_NL_DATA,
        Locale::JaJp => &JA_JP_DATA,
        Locale::ZhCn => &ZH_CN_DATA,
        Locale::ZhTw => &ZH_TW_DATA,
        Locale::ArSa => &AR_SA_DATA,
        Locale::CyGb => &CY_GB_DATA,
        Locale::TrTr => &TR_TR_DATA,
        Locale::FaIr => &FA_IR_DATA,
    }
}

pub(super) const FR_REGIONS: &[&str] = &[
    "Auvergne-Rhône-Alpes",
    "Bourgogne-Franche-Comté",
    "Bretagne",
    "Centre-Val de Loire",
    "Corse",
    "Grand Est",
    "Hauts-de-France",
    "Île-de-France",
    "Normandie",
    "Nouvelle-Aquitaine",
    "Occitanie",
    "Pays de la Loire",
    "Provence-Alpes-Côte d'Azur",
    "Guadeloupe",
    "Martinique",
    "Guyane",
    "La Réunion",
    "Mayotte",
];

pub(super) const JP_PREFECTURES: &[&str] = &[
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
];

pub(super) const CN_PROVINCES: &[&str] = &[
    "北京市",
    "天津市",
    "上海市",
    "重庆市",
    "河北省",
    "山西省",
    "辽宁省",
    "吉林省",
    "黑龙江省",
    "江苏省",
    "浙江省",
    "安徽省",
    "福建省",
    "江西省",
    "山东省",
    "河南省",
    "湖北省",
    "湖南省",
    "广东省",
    "海南省",
    "四川省",
    "贵州省",
    "云南省",
    "陕西省",
    "甘肃省",
    "青海省",
    "内蒙古自治区",
    "广西壮族自治区",
    "西藏自治区",
    "宁夏回族自治区",
    "新疆维吾尔自治区",
    "香港特别行政区",
    "澳门特别行政区",
];
