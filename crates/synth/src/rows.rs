//! Which unit sends how many rows of which class, and what each row says.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, Months, NaiveDate};
use domain::catalog::{CatalogClass, Role};
use domain::units::SourceUnit;
use rulebook::Rulebook;

use crate::names::{self, place_prefix};
use crate::rng::Rng;
use crate::subjects::Org;
use crate::{City, GenOptions, SynthError};

type Plan = Vec<(String, Vec<(String, usize)>)>;

const COUNTIES: &[(&str, &str)] = &[
    ("320902", "盐城市亭湖区"),
    ("320903", "盐城市盐都区"),
    ("320904", "盐城市大丰区"),
    ("320921", "响水县"),
    ("320922", "滨海县"),
    ("320923", "阜宁县"),
    ("320924", "射阳县"),
    ("320925", "建湖县"),
    ("320981", "东台市"),
];

fn county_unit(division: &str, suffix: &str) -> String {
    let prefix = COUNTIES
        .iter()
        .find(|(d, _)| *d == division)
        .map_or("盐城市", |(_, p)| p);
    if suffix == "生态环境局" {
        let word = names::place_word(division);
        return format!("盐城市{word}生态环境局");
    }
    format!("{prefix}{suffix}")
}

/// The unit that registers an organisation.
pub fn registrar(org: &Org) -> String {
    match &org.uscc[..1] {
        "5" => "盐城市民政局".into(),
        "1" => "盐城市行政审批局".into(),
        _ if org.division == "320900" => "盐城市市场监督管理局".into(),
        _ => county_unit(&org.division, "市场监督管理局"),
    }
}

/// Orgs left out of registration files, so that 关联率 has something to show.
fn unregistered(i: usize) -> bool {
    i % 33 == 7
}

fn split(total: usize, weights: &[(String, u32)]) -> Vec<(String, usize)> {
    let sum: u32 = weights.iter().map(|(_, w)| w).sum();
    let mut out: Vec<(String, usize)> = weights
        .iter()
        .map(|(u, w)| (u.clone(), total * *w as usize / sum.max(1) as usize))
        .collect();
    let given: usize = out.iter().map(|(_, n)| n).sum();
    if let Some(first) = out.first_mut() {
        first.1 += total - given;
    }
    out
}

pub fn plan(rules: &Rulebook, opts: &GenOptions) -> Result<Plan, SynthError> {
    if let Some(only) = &opts.only {
        let class = rules
            .catalog
            .class(only)
            .ok_or_else(|| SynthError::Options(format!("信息类“{only}”不在目录中")))?;
        // The department that typically sends such files.
        let typical = match class.code.as_str() {
            "CF" | "QZ" => Some("盐城市生态环境局"),
            "XK" | "CN" => Some("盐城市行政审批局"),
            "DJ" => Some("盐城市市场监督管理局"),
            "NSXY" => Some("国家税务总局盐城市税务局"),
            "SXBZXR" => Some("盐城市中级人民法院"),
            "HT" => Some("盐城市财政局"),
            _ => None,
        };
        let unit = match opts.only_unit.as_deref().or(typical) {
            Some(u) => u.to_string(),
            None => rules
                .units
                .units
                .iter()
                .find(|u| {
                    u.may_report(class) && !u.is_market_regulation() && u.division == "320900"
                })
                .or_else(|| rules.units.units.iter().find(|u| u.may_report(class)))
                .map(|u| u.name.clone())
                .ok_or_else(|| SynthError::Options(format!("没有单位可以报送{only}")))?,
        };
        let n = match class.code.as_str() {
            "XK" => opts.licences,
            // Every org the unit registered, once (as in the whole city): `orgs` rows would
            // repeat the unit's share of the city's organisations with other content.
            "DJ" => usize::MAX,
            "CN" => opts.commitments,
            "HT" => opts.contracts,
            "RY" => opts.honours,
            "CF" => opts.penalties,
            _ => opts.lists,
        };
        return Ok(vec![(class.name.clone(), vec![(unit, n)])]);
    }
    let w = |v: &[(&str, u32)]| -> Vec<(String, u32)> {
        v.iter().map(|(u, w)| (u.to_string(), *w)).collect()
    };
    let mut penalty_units = w(&[
        ("盐城市生态环境局", 14),
        ("盐城市应急管理局", 10),
        ("盐城市住房和城乡建设局", 8),
        ("盐城市交通运输局", 10),
        ("盐城市人力资源和社会保障局", 5),
        ("国家税务总局盐城市税务局", 10),
        ("盐城市市场监督管理局", 12),
        ("盐城市消防救援支队", 5),
    ]);
    let mut licence_units = w(&[
        ("盐城市行政审批局", 30),
        ("盐城市生态环境局", 5),
        ("盐城市交通运输局", 6),
        ("盐城市住房和城乡建设局", 5),
        ("盐城市市场监督管理局", 8),
        ("盐城市卫生健康委员会", 4),
    ]);
    for (d, _) in COUNTIES {
        penalty_units.push((county_unit(d, "市场监督管理局"), 2));
        penalty_units.push((county_unit(d, "应急管理局"), 1));
        penalty_units.push((county_unit(d, "生态环境局"), 1));
        licence_units.push((county_unit(d, "行政审批局"), 4));
    }
    let mut registrations: BTreeMap<String, usize> = BTreeMap::new();
    let mut plan: Plan = Vec::new();
    // Registration counts come from the city itself (usize::MAX: every org the unit registered).
    for unit in rules
        .units
        .units
        .iter()
        .filter(|u| u.tags.iter().any(|t| t == "登记机关"))
    {
        registrations.insert(unit.name.clone(), usize::MAX);
    }
    plan.push((
        "登记注册基本信息".into(),
        registrations.into_iter().collect(),
    ));
    plan.push(("行政许可".into(), split(opts.licences, &licence_units)));
    plan.push(("行政处罚".into(), split(opts.penalties, &penalty_units)));
    plan.push((
        "行政强制".into(),
        split(
            opts.penalties / 10,
            &w(&[("盐城市生态环境局", 2), ("盐城市市场监督管理局", 1)]),
        ),
    ));
    plan.push((
        "严重失信主体名单".into(),
        split(
            opts.lists,
            &w(&[
                ("盐城市人力资源和社会保障局", 1),
                ("国家税务总局盐城市税务局", 1),
                ("盐城市市场监督管理局", 1),
                // 环境违法严重失信: the demo's ecology officer then has entries of its own.
                ("盐城市生态环境局", 1),
            ]),
        ),
    ));
    let mut courts = w(&[("盐城市中级人民法院", 3)]);
    for (d, _) in COUNTIES {
        courts.push((county_unit(d, "人民法院"), 1));
    }
    plan.push((
        "司法裁判及执行（失信被执行人）".into(),
        split(opts.lists, &courts),
    ));
    plan.push((
        "守信激励（红）名单".into(),
        vec![("盐城市发展和改革委员会".into(), opts.lists)],
    ));
    plan.push((
        "重点关注名单".into(),
        vec![("盐城市发展和改革委员会".into(), opts.lists / 2)],
    ));
    plan.push((
        "纳税信用等级".into(),
        vec![("国家税务总局盐城市税务局".into(), opts.orgs / 3)],
    ));
    plan.push((
        "信用承诺及履约".into(),
        vec![("盐城市行政审批局".into(), opts.commitments)],
    ));
    plan.push((
        "合同履行".into(),
        vec![("盐城市财政局".into(), opts.contracts)],
    ));
    plan.push((
        "诚实守信相关荣誉".into(),
        vec![("盐城市发展和改革委员会".into(), opts.honours)],
    ));
    Ok(plan)
}

/// Generates the rows of one class from one unit.
pub struct RowGen<'a> {
    city: &'a City,
    unit: &'a SourceUnit,
    class: &'a CatalogClass,
    rng: Rng,
    /// Orgs this unit deals with (its county's, or all for city units).
    orgs: Vec<usize>,
    abbr: String,
    pub rows: usize,
}

fn domain_of(unit: &str) -> &'static str {
    for (k, v) in [
        ("生态环境", "环"),
        ("应急管理", "应急"),
        ("住房和城乡建设", "建"),
        ("交通运输", "交"),
        ("人力资源", "人社"),
        ("税务", "税"),
        ("市场监督", "市监"),
        ("消防", "消"),
        ("行政审批", "审批"),
        ("卫生健康", "卫"),
        ("法院", "法"),
        ("发展和改革", "发改"),
        ("财政", "财"),
        ("民政", "民"),
    ] {
        if unit.contains(k) {
            return v;
        }
    }
    "政"
}

fn place_char(division: &str) -> &'static str {
    match division {
        "320902" => "亭",
        "320903" => "都",
        "320904" => "丰",
        "320921" => "响",
        "320922" => "滨",
        "320923" => "阜",
        "320924" => "射",
        "320925" => "建湖",
        "320981" => "东",
        _ => "盐",
    }
}

fn d(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// A 万元 figure with up to four decimals (1 元 precision): 0.05 to 50.
fn wan(rng: &mut Rng) -> String {
    let v = rng.below(500_000) + 500;
    let s = format!("{}.{:04}", v / 10_000, v % 10_000);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl<'a> RowGen<'a> {
    pub fn new(city: &'a City, unit: &'a SourceUnit, class: &'a CatalogClass, rng: Rng) -> Self {
        let orgs: Vec<usize> = if class.code == "DJ" {
            (0..city.orgs.len())
                .filter(|&i| !unregistered(i) && registrar(&city.orgs[i]) == unit.name)
                .collect()
        } else if unit.division == "320900" {
            (0..city.orgs.len()).collect()
        } else {
            let v: Vec<usize> = (0..city.orgs.len())
                .filter(|&i| city.orgs[i].division == unit.division)
                .collect();
            if v.is_empty() {
                (0..city.orgs.len()).collect()
            } else {
                v
            }
        };
        let rows = if class.code == "DJ" { orgs.len() } else { 0 };
        let mut rng = rng;
        let mut orgs = orgs;
        if class.code == "NSXY" {
            // One grade per taxpayer and year: walk the orgs in a shuffled order.
            for i in (1..orgs.len()).rev() {
                let j = rng.below(i + 1);
                orgs.swap(i, j);
            }
        }
        RowGen {
            city,
            unit,
            class,
            rng,
            abbr: format!("{}{}", place_char(&unit.division), domain_of(&unit.name)),
            orgs,
            rows,
        }
    }

    fn decision_date(&mut self) -> NaiveDate {
        let days = match self.rng.below(10) {
            0..=2 => self.rng.below(10),
            3..=7 => self.rng.below(365),
            _ => 365 + self.rng.below(900),
        };
        self.city
            .today
            .checked_sub_days(Days::new(days as u64))
            .unwrap_or(self.city.today)
    }

    fn org(&mut self) -> &'a Org {
        let i = self.orgs[self.rng.below(self.orgs.len())];
        &self.city.orgs[i]
    }

    /// Fills the subject items: an organisation (most) or a natural person.
    fn subject(&mut self, v: &mut BTreeMap<&'static str, String>, person_share: f64) {
        let c = self.class;
        let set = |v: &mut BTreeMap<&'static str, String>, r: Role, val: String| {
            if let Some(item) = c.item_by_role(r) {
                v.insert(static_code(&item.code), val);
            }
        };
        if self.rng.chance(person_share) && c.item_by_role(Role::SubjectIdNumber).is_some() {
            let p = &self.city.persons[self.rng.below(self.city.persons.len())];
            set(v, Role::SubjectName, p.name.clone());
            set(v, Role::SubjectKind, "自然人".into());
            set(v, Role::SubjectIdType, "身份证".into());
            set(v, Role::SubjectIdNumber, p.id.clone());
        } else {
            let o = self.org();
            set(v, Role::SubjectName, o.name.clone());
            set(v, Role::SubjectKind, o.kind.into());
            set(v, Role::SubjectUscc, o.uscc.clone());
            set(v, Role::LegalRep, o.legal_rep.clone());
            if self.rng.chance(0.5) {
                set(v, Role::LegalRepIdType, "身份证".into());
                set(v, Role::LegalRepIdNumber, o.rep_id.clone());
            }
        }
    }

    pub fn row(&mut self, seq: usize) -> BTreeMap<&'static str, String> {
        let mut v = BTreeMap::new();
        match self.class.code.as_str() {
            "DJ" => self.registration(seq, &mut v),
            "XK" => self.licence(seq, &mut v),
            "CF" => self.penalty(seq, &mut v),
            "QZ" => self.coercion(seq, &mut v),
            "YZSX" | "HMD" | "ZDGZ" => self.list_entry(seq, &mut v),
            "SXBZXR" => self.court(seq, &mut v),
            "NSXY" => self.tax(seq, &mut v),
            "CN" => self.commitment(seq, &mut v),
            "HT" => self.contract(seq, &mut v),
            "RY" => self.honour(seq, &mut v),
            _ => {}
        }
        v
    }

    fn registration(&mut self, seq: usize, v: &mut BTreeMap<&'static str, String>) {
        let o = &self.city.orgs[self.orgs[seq % self.orgs.len().max(1)]];
        v.insert("DJ_MC", o.name.clone());
        v.insert("DJ_SHXYM", o.uscc.clone());
        v.insert("DJ_ZTLX", o.reg_type.into());
        v.insert("DJ_FRDB", o.legal_rep.clone());
        if self.rng.chance(0.5) {
            v.insert("DJ_FR_ZJHM", o.rep_id.clone());
        }
        if o.reg_type == "企业" {
            v.insert("DJ_ZCZB", o.capital_wan.clone());
        }
        v.insert("DJ_CLRQ", d(o.founded));
        v.insert(
            "DJ_ZS",
            format!(
                "{}{}路{}号",
                place_prefix(&o.division),
                self.rng.pick(names::TRADE),
                self.rng.below(300) + 1
            ),
        );
        v.insert("DJ_HY", o.industry.into());
        v.insert(
            "DJ_JYFW",
            format!(
                "{}相关业务（依法须经批准的项目，经相关部门批准后方可开展经营活动）",
                o.industry
            ),
        );
        v.insert("DJ_DJJG", self.unit.name.clone());
        v.insert(
            "DJ_DJZT",
            if self.rng.chance(0.95) {
                "存续"
            } else {
                *self.rng.pick(&["注销", "吊销", "迁出"])
            }
            .into(),
        );
    }

    fn licence(&mut self, seq: usize, v: &mut BTreeMap<&'static str, String>) {
        self.subject(v, 0.05);
        let date = self.decision_date();
        let (cert, content) = match domain_of(&self.unit.name) {
            "环" => ("排污许可证", "准予核发排污许可证"),
            "交" => ("道路运输经营许可证", "准予从事道路普通货物运输经营"),
            "建" => ("建筑工程施工许可证", "准予建筑工程施工"),
            "市监" => ("食品经营许可证", "准予食品经营（预包装食品销售）"),
            "卫" => ("医疗机构执业许可证", "准予医疗机构执业登记"),
            _ => *self.rng.pick(&[
                ("食品经营许可证", "准予食品经营许可"),
                ("建筑业企业资质证书", "准予建筑业企业资质许可"),
                ("危险化学品经营许可证", "准予危险化学品经营许可"),
                ("人力资源服务许可证", "准予从事职业中介活动"),
                ("公共场所卫生许可证", "准予公共场所卫生许可"),
            ]),
        };
        v.insert("XK_XKWS", format!("{cert}准予行政许可决定书"));
        v.insert(
            "XK_WSH",
            format!("{}许〔{}〕{:05}号", self.abbr, date.year(), seq + 1),
        );
        v.insert(
            "XK_XKLB",
            self.rng
                .weighted(&[("普通", 70), ("核准", 15), ("登记", 10), ("认可", 5)])
                .to_string(),
        );
        v.insert("XK_XKZS", cert.into());
        v.insert("XK_XKBH", format!("JY3209{}{:07}", date.year(), seq + 1));
        v.insert("XK_NR", content.into());
        v.insert("XK_JDRQ", d(date));
        v.insert("XK_YXQZ", d(date));
        let to = if self.rng.chance(0.15) {
            "2099-12-31".to_string()
        } else {
            d(date
                .checked_add_months(Months::new(12 * (3 + self.rng.below(3) as u32)))
                .unwrap_or(date))
        };
        v.insert("XK_YXQZI", to);
        v.insert("XK_XKJG", self.unit.name.clone());
        v.insert("XK_XKJGDM", self.unit.uscc.clone());
        v.insert("XK_ZT", "有效".into());
        v.insert("XK_LYDW", self.unit.name.clone());
        v.insert("XK_LYDWDM", self.unit.uscc.clone());
    }

    fn penalty(&mut self, seq: usize, v: &mut BTreeMap<&'static str, String>) {
        self.subject(v, 0.08);
        let date = self.decision_date();
        let (violations, basis): (&[&str], &[&str]) = match domain_of(&self.unit.name) {
            "环" => (
                &[
                    "超过大气污染物排放标准排放大气污染物",
                    "未按照规定设置排污口",
                    "危险废物贮存不符合规定",
                    "未依法取得排污许可证排放污染物",
                ],
                &[
                    "《中华人民共和国大气污染防治法》第九十九条",
                    "《中华人民共和国水污染防治法》第八十四条",
                    "《中华人民共和国固体废物污染环境防治法》第一百一十二条",
                ],
            ),
            "应急" => (
                &[
                    "未按照规定对从业人员进行安全生产教育和培训",
                    "未建立事故隐患排查治理制度",
                    "未按规定配备安全生产管理人员",
                ],
                &[
                    "《中华人民共和国安全生产法》第九十七条",
                    "《中华人民共和国安全生产法》第一百零二条",
                ],
            ),
            "建" => (
                &[
                    "未取得施工许可证擅自施工",
                    "违反工程建设强制性标准",
                    "未按规定办理工程质量监督手续",
                ],
                &[
                    "《建设工程质量管理条例》第五十七条",
                    "《建筑工程施工许可管理办法》第十二条",
                ],
            ),
            "交" => (
                &[
                    "未取得道路运输经营许可擅自从事道路运输经营",
                    "车辆超限运输",
                    "未按规定维护和检测运输车辆",
                ],
                &[
                    "《中华人民共和国道路运输条例》第六十三条",
                    "《公路安全保护条例》第六十四条",
                ],
            ),
            "人社" => (
                &["未按时足额支付劳动者工资", "未依法参加社会保险"],
                &[
                    "《劳动保障监察条例》第二十六条",
                    "《中华人民共和国社会保险法》第八十四条",
                ],
            ),
            "税" => (
                &["未按照规定期限办理纳税申报", "未按照规定开具发票"],
                &[
                    "《中华人民共和国税收征收管理法》第六十二条",
                    "《中华人民共和国发票管理办法》第三十五条",
                ],
            ),
            "消" => (
                &["消防设施未保持完好有效", "占用疏散通道、安全出口"],
                &["《中华人民共和国消防法》第六十条"],
            ),
            _ => (
                &[
                    "经营不符合食品安全标准的食品",
                    "生产销售不合格产品",
                    "发布虚假广告",
                    "特种设备未经定期检验继续使用",
                ],
                &[
                    "《中华人民共和国食品安全法》第一百二十四条",
                    "《中华人民共和国产品质量法》第四十九条",
                    "《中华人民共和国广告法》第五十五条",
                    "《中华人民共和国特种设备安全法》第八十四条",
                ],
            ),
        };
        let violation = *self.rng.pick(violations);
        let basis = *self.rng.pick(basis);
        let cats = *self.rng.weighted(&[
            ("罚款", 60),
            ("警告", 6),
            ("警告;罚款", 8),
            ("罚款;没收违法所得", 8),
            ("通报批评", 3),
            ("责令停产停业;罚款", 4),
            ("吊销许可证件", 2),
            ("暂扣许可证件;罚款", 3),
            ("没收违法所得;没收非法财物", 2),
            ("降低资质等级", 2),
        ]);
        let name = v.get("CF_XDR_MC").cloned().unwrap_or_default();
        v.insert(
            "CF_WSH",
            format!("{}罚〔{}〕{:05}号", self.abbr, date.year(), seq + 1),
        );
        v.insert("CF_WFXW", violation.into());
        v.insert(
            "CF_SY",
            format!(
                "经查，当事人{name}于{}存在{violation}的违法行为，违反了{basis}的规定。",
                d(date - Days::new(30))
            ),
        );
        v.insert("CF_YJ", basis.into());
        v.insert("CF_CFLB", cats.into());
        let mut content = Vec::new();
        if cats.contains("警告") {
            content.push("给予警告".to_string());
        }
        if cats.contains("通报批评") {
            content.push("予以通报批评".to_string());
        }
        if cats.contains("罚款") {
            let f = wan(&mut self.rng);
            content.push(format!("处罚款{f}万元"));
            v.insert("CF_NR_FK", f);
        }
        if cats.contains("没收") {
            let f = wan(&mut self.rng);
            content.push(format!("没收违法所得{f}万元"));
            v.insert("CF_NR_WFFF", f);
        }
        if cats.contains("暂扣许可证件") || cats.contains("吊销许可证件") {
            let lic = format!(
                "《营业执照》（{}）",
                v.get("CF_XDR_SHXYM")
                    .cloned()
                    .unwrap_or_else(|| "个人".into())
            );
            content.push(format!(
                "{}{lic}",
                if cats.contains("吊销") {
                    "吊销"
                } else {
                    "暂扣"
                }
            ));
            v.insert("CF_NR_ZKDX", lic);
        }
        if cats.contains("责令停产停业") {
            content.push("责令停产停业整顿".into());
        }
        if cats.contains("降低资质等级") {
            content.push("降低资质等级一级".into());
        }
        v.insert("CF_NR", content.join("，"));
        v.insert("CF_JDRQ", d(date));
        v.insert(
            "CF_YXQ",
            d(date.checked_add_months(Months::new(36)).unwrap_or(date)),
        );
        v.insert("CF_CFJG", self.unit.name.clone());
        v.insert("CF_CFJGDM", self.unit.uscc.clone());
        v.insert("CF_SJLY", self.unit.name.clone());
        v.insert("CF_SJLYDM", self.unit.uscc.clone());
        if self.rng.chance(0.3) {
            let serious = ["吊销", "停产", "降低资质"]
                .iter()
                .any(|k| cats.contains(k));
            v.insert("CF_SXYZCD", if serious { "严重" } else { "一般" }.into());
        }
    }

    fn coercion(&mut self, seq: usize, v: &mut BTreeMap<&'static str, String>) {
        self.subject(v, 0.03);
        let date = self.decision_date();
        v.insert(
            "QZ_WSH",
            format!("{}强〔{}〕{:05}号", self.abbr, date.year(), seq + 1),
        );
        v.insert(
            "QZ_LB",
            self.rng
                .weighted(&[
                    ("查封场所、设施或者财物", 5),
                    ("扣押财物", 4),
                    ("冻结存款、汇款", 1),
                ])
                .to_string(),
        );
        v.insert("QZ_SY", "涉嫌违法，为制止违法行为、防止证据损毁".into());
        v.insert("QZ_YJ", "《中华人民共和国行政强制法》第九条".into());
        v.insert("QZ_NR", "对涉案场所、设施予以查封，期限三十日".into());
        v.insert("QZ_JDRQ", d(date));
        v.insert("QZ_SSJG", self.unit.name.clone());
    }

    fn list_entry(&mut self, seq: usize, v: &mut BTreeMap<&'static str, String>) {
        self.subject(v, if self.class.code == "HMD" { 0.0 } else { 0.1 });
        let date = self.decision_date();
        let (kind, reason, basis) = match (self.class.code.as_str(), domain_of(&self.unit.name)) {
            // The red list the 发改委 keeps: its own kinds (纳税信用A级 is the tax bureau's).
            ("HMD", _) => (
                *self
                    .rng
                    .pick(&["诚信典型企业", "守合同重信用企业", "诚信示范企业"]),
                "连续守信，信用状况良好",
                "《江苏省社会信用条例》第三十二条",
            ),
            // A reason the public file need not bear out (a generated penalty may not stand
            // before the listing): the unit's own finding.
            ("ZDGZ", _) => (
                "失信行为重点关注对象",
                "存在失信行为，经约谈后未按期整改",
                "《盐城市关于加快推进社会信用体系建设构建以信用为基础的新型监管机制的实施意见》（盐政办发〔2020〕33号）",
            ),
            (_, "人社") => (
                "拖欠农民工工资失信联合惩戒对象名单",
                "克扣、无故拖欠农民工工资达到认定拒不支付劳动报酬罪数额标准",
                "《拖欠农民工工资失信联合惩戒对象名单管理暂行办法》第五条",
            ),
            (_, "税") => (
                "重大税收违法失信主体",
                "偷税数额较大",
                "《重大税收违法失信主体信息公布管理办法》第六条",
            ),
            // An ecology bureau lists under its own rules, never the market regulator's.
            (_, "环") => (
                "环境保护领域严重失信主体",
                "环境违法行为情节严重，拒不改正",
                "《江苏省企业环境信用评价办法》（环境信用评价为黑色等级）",
            ),
            _ => (
                "市场监督管理严重违法失信名单",
                "因违法行为受到较重行政处罚且性质恶劣",
                "《市场监督管理严重违法失信名单管理办法》第二条",
            ),
        };
        v.insert("MD_MDLX", kind.into());
        v.insert(
            "MD_WSH",
            format!("{}认〔{}〕{:04}号", self.abbr, date.year(), seq + 1),
        );
        v.insert("MD_LRYY", reason.into());
        v.insert("MD_RDYJ", basis.into());
        v.insert("MD_RDDW", self.unit.name.clone());
        v.insert("MD_LRRQ", d(date));
        v.insert(
            "MD_YXQZ",
            d(date
                .checked_add_months(Months::new(12 * (1 + self.rng.below(3) as u32)))
                .unwrap_or(date)),
        );
        if self.class.code == "ZDGZ" {
            v.insert(
                "MD_ZGQX",
                d(date.checked_add_months(Months::new(3)).unwrap_or(date)),
            );
        }
    }

    fn court(&mut self, seq: usize, v: &mut BTreeMap<&'static str, String>) {
        self.subject(v, 0.35);
        let date = self.decision_date();
        let code = if self.unit.division == "320900" {
            "09".to_string()
        } else {
            self.unit.division[2..].to_string()
        };
        v.insert(
            "SX_AH",
            format!("（{}）苏{code}执{}号", date.year(), seq + 1),
        );
        v.insert("SX_ZXFY", self.unit.name.clone());
        v.insert(
            "SX_YJWH",
            format!(
                "（{}）苏{code}民初{}号",
                date.year() - 1,
                self.rng.below(9000) + 100
            ),
        );
        v.insert(
            "SX_YW",
            format!(
                "支付货款人民币{}元及利息",
                (self.rng.below(900) + 10) * 1000
            ),
        );
        v.insert(
            "SX_LXQK",
            self.rng
                .weighted(&[("全部未履行", 8), ("部分履行", 2)])
                .to_string(),
        );
        v.insert("SX_JTQX", "有履行能力而拒不履行生效法律文书确定义务".into());
        v.insert("SX_LARQ", d(date - Days::new(90)));
        v.insert("SX_FBRQ", d(date));
    }

    fn tax(&mut self, seq: usize, v: &mut BTreeMap<&'static str, String>) {
        let o = &self.city.orgs[self.orgs[seq % self.orgs.len()]];
        v.insert("NS_NSRMC", o.name.clone());
        v.insert("NS_SHXYM", o.uscc.clone());
        v.insert("NS_PJND", (self.city.today.year() - 1).to_string());
        v.insert(
            "NS_XYJB",
            self.rng
                .weighted(&[("A", 20), ("B", 50), ("M", 20), ("C", 7), ("D", 3)])
                .to_string(),
        );
        let rated = NaiveDate::from_ymd_opt(self.city.today.year(), 4, 20)
            .filter(|r| *r <= self.city.today);
        v.insert("NS_PJRQ", d(rated.unwrap_or(self.city.today)));
        v.insert("NS_PDJG", self.unit.name.clone());
    }

    fn commitment(&mut self, seq: usize, v: &mut BTreeMap<&'static str, String>) {
        self.subject(v, 0.05);
        let date = self.decision_date();
        let kind = *self.rng.weighted(&[
            ("审批替代型", 3),
            ("证明事项告知承诺", 4),
            ("主动公示型", 2),
            ("行业自律型", 1),
        ]);
        v.insert("CN_BH", format!("CN3209{}{:08}", date.year(), seq + 1));
        v.insert("CN_LX", kind.into());
        v.insert(
            "CN_SX",
            self.rng
                .pick(&[
                    "食品经营许可告知承诺",
                    "建设工程规划许可容缺受理",
                    "企业投资项目承诺制",
                    "公共场所卫生许可告知承诺",
                ])
                .to_string(),
        );
        v.insert(
            "CN_NR",
            "本单位承诺所提交的材料真实、合法、有效，如有虚假，愿承担相应法律责任并接受信用惩戒"
                .into(),
        );
        v.insert("CN_RQ", d(date));
        v.insert("CN_SLDW", self.unit.name.clone());
        let state = *self
            .rng
            .weighted(&[("履约中", 5), ("已践诺", 4), ("违诺", 1)]);
        v.insert("CN_LYZT", state.into());
        if state == "违诺" {
            v.insert("CN_WNQK", "未在承诺期限内补齐材料".into());
        }
    }

    fn contract(&mut self, seq: usize, v: &mut BTreeMap<&'static str, String>) {
        self.subject(v, 0.0);
        let date = self.decision_date();
        v.insert("HT_BH", format!("YCCG-{}-{:05}", date.year(), seq + 1));
        v.insert(
            "HT_MC",
            format!(
                "{}采购合同",
                self.rng.pick(&[
                    "办公设备",
                    "物业服务",
                    "道路养护",
                    "信息化系统运维",
                    "绿化养护"
                ])
            ),
        );
        v.insert(
            "HT_XDF",
            self.rng
                .pick(&[
                    "盐城市教育局",
                    "盐城市城市管理局",
                    "盐城市数据局",
                    "盐城市公安局",
                ])
                .to_string(),
        );
        v.insert("HT_JE", wan(&mut self.rng));
        v.insert("HT_QDRQ", d(date));
        let state = *self
            .rng
            .weighted(&[("正常履约", 6), ("履约完毕", 3), ("违约", 1)]);
        v.insert("HT_LYZT", state.into());
        if state == "违约" {
            v.insert("HT_WYQK", "未按合同约定期限交付".into());
        }
    }

    fn honour(&mut self, seq: usize, v: &mut BTreeMap<&'static str, String>) {
        self.subject(v, 0.0);
        let date = self.decision_date();
        v.insert(
            "RY_MC",
            self.rng
                .pick(&[
                    "盐城市诚信示范企业",
                    "江苏省文明单位",
                    "盐城市守合同重信用企业",
                    "盐城市质量奖",
                ])
                .to_string(),
        );
        v.insert(
            "RY_WSH",
            format!("盐发改信用发〔{}〕{}号", date.year(), seq + 10),
        );
        v.insert("RY_SYDW", self.unit.name.clone());
        v.insert("RY_SYRQ", d(date));
        v.insert(
            "RY_YXQZ",
            d(date.checked_add_months(Months::new(24)).unwrap_or(date)),
        );
    }
}

/// Item codes are few and fixed: intern them once so rows can key by `&'static str`.
fn static_code(code: &str) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static CODES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let set = CODES.get_or_init(|| Mutex::new(HashSet::new()));
    let mut g = set.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(c) = g.get(code) {
        return c;
    }
    let leaked: &'static str = Box::leak(code.to_string().into_boxed_str());
    g.insert(leaked);
    leaked
}

/// Makes a row dirty; returns the kind of fault.
pub fn spoil(
    rng: &mut Rng,
    class: &CatalogClass,
    cells: &mut [String],
    last_clean: Option<&Vec<String>>,
) -> &'static str {
    if let Some(prev) = last_clean
        && rng.chance(0.2)
    {
        cells.clone_from_slice(prev);
        return "duplicate";
    }
    let idx = |r: Role| class.index_of_role(r);
    let non_empty = |cells: &[String], r: Role| idx(r).filter(|&i| !cells[i].is_empty());
    match rng.below(5) {
        0 => {
            if let Some(i) = non_empty(cells, Role::SubjectUscc)
                .or_else(|| non_empty(cells, Role::SubjectIdNumber))
            {
                let mut chars: Vec<char> = cells[i].chars().collect();
                if let Some(last) = chars.last_mut() {
                    *last = if *last == '1' { '2' } else { '1' };
                }
                cells[i] = chars.into_iter().collect();
                return "bad_checksum";
            }
        }
        1 => {
            if let Some(i) = idx(Role::SubjectName) {
                cells[i].clear();
                return "missing_required";
            }
        }
        2 => {
            if let Some(i) = non_empty(cells, Role::Fine) {
                cells[i] = "五千元".into();
                return "bad_amount";
            }
        }
        3 => {
            if let Some(i) = idx(Role::SubjectKind) {
                cells[i] = "企业法人单位".into();
                return "bad_enum";
            }
        }
        _ => {}
    }
    if let Some(i) = idx(Role::DecisionDate) {
        cells[i] = "2026-02-30".into();
        return "bad_date";
    }
    if let Some(i) = idx(Role::SubjectName) {
        cells[i].clear();
    }
    "missing_required"
}
