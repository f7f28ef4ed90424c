//! A CQL subset for `GET /wiki/rest/api/content/search`: what incremental extractors use.
//!
//! Clauses: `type` (page, blogpost, attachment, comment), `space` (`space.key`), `space.id`, `ancestor`, `parent`, `id`/`content`,
//! `title` (`=`, `!=`, `~`), `text ~`, `label`, `creator`, `lastmodified`/`lastModified` and
//! `created` (`=`, `!=`, `<`, `<=`, `>`, `>=` against `"yyyy-MM-dd HH:mm"`, `"yyyy/MM/dd HH:mm"`,
//! `"yyyy-MM-dd"`, `"yyyy/MM/dd"`, `now("-4w")` or `startOfDay("-1d")`), `IN (…)` / `NOT IN`,
//! combined with `AND`, `OR`, `NOT` and parentheses; `ORDER BY` `lastmodified`, `created`,
//! `title` or `id`, `ASC`/`DESC`. Dates are UTC and minute-precise, as the real service
//! (whose users' time zone is UTC here).

use crate::model::{Content, ContentKind, Dataset};

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let cs: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1
            }
            '"' | '\'' => {
                let q = c;
                let mut v = String::new();
                i += 1;
                loop {
                    match cs.get(i) {
                        None => return Err("unterminated string".into()),
                        Some('\\') => {
                            if let Some(n) = cs.get(i + 1) {
                                v.push(*n);
                            }
                            i += 2;
                        }
                        Some(x) if *x == q => {
                            i += 1;
                            break;
                        }
                        Some(x) => {
                            v.push(*x);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(v));
            }
            '!' if cs.get(i + 1) == Some(&'=') => {
                out.push(Tok::Op("!="));
                i += 2
            }
            '!' if cs.get(i + 1) == Some(&'~') => {
                out.push(Tok::Op("!~"));
                i += 2
            }
            '>' if cs.get(i + 1) == Some(&'=') => {
                out.push(Tok::Op(">="));
                i += 2
            }
            '<' if cs.get(i + 1) == Some(&'=') => {
                out.push(Tok::Op("<="));
                i += 2
            }
            '>' => {
                out.push(Tok::Op(">"));
                i += 1
            }
            '<' => {
                out.push(Tok::Op("<"));
                i += 1
            }
            '=' => {
                out.push(Tok::Op("="));
                i += 1
            }
            '~' => {
                out.push(Tok::Op("~"));
                i += 1
            }
            _ => {
                let mut w = String::new();
                while let Some(&x) = cs.get(i) {
                    if x.is_whitespace() || "()=,!<>~\"'".contains(x) {
                        break;
                    }
                    w.push(x);
                    i += 1;
                }
                if w.is_empty() {
                    return Err(format!("unexpected character {c:?}"));
                }
                out.push(Tok::Word(w));
            }
        }
    }
    Ok(out)
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Text(String),
    /// A date as ms since the epoch.
    Date(i64),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp {
        field: String,
        op: &'static str,
        value: Value,
    },
    In {
        field: String,
        values: Vec<Value>,
        negated: bool,
        /// The values as text, for `id in (…)` (a set: a big site is searched by hundreds of
        /// ids at a time).
        texts: std::collections::HashSet<String>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub expr: Option<Expr>,
    /// `(field, descending)`.
    pub order: Vec<(String, bool)>,
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    now: i64,
}

fn kw(t: Option<&Tok>, k: &str) -> bool {
    matches!(t, Some(Tok::Word(w)) if w.eq_ignore_ascii_case(k))
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn or(&mut self) -> Result<Expr, String> {
        let mut e = self.and()?;
        while kw(self.peek(), "or") {
            self.pos += 1;
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }
    fn and(&mut self) -> Result<Expr, String> {
        let mut e = self.not()?;
        while kw(self.peek(), "and") {
            self.pos += 1;
            e = Expr::And(Box::new(e), Box::new(self.not()?));
        }
        Ok(e)
    }
    fn not(&mut self) -> Result<Expr, String> {
        if kw(self.peek(), "not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let e = self.or()?;
            if self.next() != Some(Tok::RParen) {
                return Err("missing )".into());
            }
            return Ok(e);
        }
        self.clause()
    }
    fn clause(&mut self) -> Result<Expr, String> {
        let field = match self.next() {
            Some(Tok::Word(w)) => w.to_ascii_lowercase(),
            other => return Err(format!("expected a field, found {other:?}")),
        };
        let field = match field.as_str() {
            "lastmodified" | "lastmodifieddate" => "lastmodified".to_string(),
            "space.key" => "space".to_string(),
            "content" => "id".to_string(),
            f => f.to_string(),
        };
        if ![
            "type",
            "space",
            "space.id",
            "ancestor",
            "parent",
            "container",
            "id",
            "title",
            "text",
            "label",
            "creator",
            "lastmodified",
            "created",
        ]
        .contains(&field.as_str())
        {
            return Err(format!(
                "the field {field} is not supported by the kbridge twin"
            ));
        }
        let negated = kw(self.peek(), "not");
        if negated {
            self.pos += 1;
        }
        if kw(self.peek(), "in") {
            self.pos += 1;
            if self.next() != Some(Tok::LParen) {
                return Err("expected ( after IN".into());
            }
            let mut values = Vec::new();
            loop {
                values.push(self.value(&field)?);
                match self.next() {
                    Some(Tok::Comma) => continue,
                    Some(Tok::RParen) => break,
                    other => return Err(format!("expected , or ) in IN list, found {other:?}")),
                }
            }
            let texts = values
                .iter()
                .filter_map(|v| match v {
                    Value::Text(t) => Some(t.clone()),
                    Value::Date(_) => None,
                })
                .collect();
            return Ok(Expr::In {
                field,
                values,
                negated,
                texts,
            });
        }
        if negated {
            return Err("expected IN after NOT".into());
        }
        let op = match self.next() {
            Some(Tok::Op(o)) => o,
            other => {
                return Err(format!(
                    "expected an operator after {field}, found {other:?}"
                ));
            }
        };
        let value = self.value(&field)?;
        let dated = matches!(field.as_str(), "lastmodified" | "created");
        let allowed: &[&str] = if dated {
            &["=", "!=", "<", "<=", ">", ">="]
        } else if matches!(field.as_str(), "title" | "text") {
            &["=", "!=", "~", "!~"]
        } else {
            &["=", "!="]
        };
        if !allowed.contains(&op) {
            return Err(format!("the operator {op} is not supported for {field}"));
        }
        Ok(Expr::Cmp { field, op, value })
    }
    fn value(&mut self, field: &str) -> Result<Value, String> {
        let dated = matches!(field, "lastmodified" | "created");
        let raw = match self.next() {
            Some(Tok::Str(s)) => s,
            Some(Tok::Word(w)) => {
                if self.peek() == Some(&Tok::LParen) {
                    // A function: now("-4w"), startOfDay().
                    self.pos += 1;
                    let arg = match self.next() {
                        Some(Tok::RParen) => None,
                        Some(Tok::Str(a)) => {
                            if self.next() != Some(Tok::RParen) {
                                return Err("expected ) after function argument".into());
                            }
                            Some(a)
                        }
                        other => return Err(format!("bad function argument {other:?}")),
                    };
                    if !dated {
                        return Err(format!("function {w} is only supported on dates"));
                    }
                    return self.function(&w, arg.as_deref()).map(Value::Date);
                }
                w
            }
            other => return Err(format!("expected a value, found {other:?}")),
        };
        if dated {
            return crate::time::parse_cql_date(&raw)
                .map(Value::Date)
                .ok_or_else(|| format!("invalid date {raw:?}"));
        }
        Ok(Value::Text(raw))
    }
    fn function(&self, name: &str, arg: Option<&str>) -> Result<i64, String> {
        let offset = match arg {
            None => 0,
            Some(a) => parse_offset(a).ok_or_else(|| format!("invalid offset {a:?}"))?,
        };
        match name.to_ascii_lowercase().as_str() {
            "now" => Ok(self.now + offset),
            "startofday" => {
                Ok((self.now + offset).div_euclid(crate::time::MS_PER_DAY)
                    * crate::time::MS_PER_DAY)
            }
            "endofday" => Ok((self.now + offset).div_euclid(crate::time::MS_PER_DAY)
                * crate::time::MS_PER_DAY
                + crate::time::MS_PER_DAY
                - 1),
            other => Err(format!(
                "the function {other} is not supported by the kbridge twin"
            )),
        }
    }
}

/// `"-4w"`, `"+1d"`, `"-2h"`, `"-30m"`.
fn parse_offset(s: &str) -> Option<i64> {
    let s = s.trim();
    let (sign, rest) = match s.strip_prefix('-') {
        Some(r) => (-1, r),
        None => (1, s.strip_prefix('+').unwrap_or(s)),
    };
    let unit = rest.chars().last()?;
    let n: i64 = rest[..rest.len() - unit.len_utf8()].parse().ok()?;
    let ms = match unit {
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => crate::time::MS_PER_DAY,
        'w' => 7 * crate::time::MS_PER_DAY,
        'y' => 365 * crate::time::MS_PER_DAY,
        _ => return None,
    };
    Some(sign * n * ms)
}

/// Parses a CQL query; `now` resolves `now()`-style functions.
pub fn parse(cql: &str, now: i64) -> Result<Query, String> {
    let toks = lex(cql)?;
    // Split off ORDER BY.
    let mut split = toks.len();
    for i in 0..toks.len().saturating_sub(1) {
        if kw(toks.get(i), "order") && kw(toks.get(i + 1), "by") {
            split = i;
            break;
        }
    }
    let mut p = Parser {
        toks: toks[..split].to_vec(),
        pos: 0,
        now,
    };
    let expr = if p.toks.is_empty() {
        None
    } else {
        Some(p.or()?)
    };
    if p.pos < p.toks.len() {
        return Err(format!("unexpected {:?}", p.toks[p.pos]));
    }
    let mut order = Vec::new();
    let mut rest = toks[split..].iter().skip(2).peekable();
    while let Some(t) = rest.next() {
        let f = match t {
            Tok::Word(w) => w.to_ascii_lowercase(),
            other => return Err(format!("expected a field in ORDER BY, found {other:?}")),
        };
        let f = if f == "lastmodifieddate" {
            "lastmodified".to_string()
        } else {
            f
        };
        if !["lastmodified", "created", "title", "id"].contains(&f.as_str()) {
            return Err(format!("cannot order by {f}"));
        }
        let mut desc = false;
        match rest.peek() {
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("desc") => {
                desc = true;
                rest.next();
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("asc") => {
                rest.next();
            }
            _ => {}
        }
        order.push((f, desc));
        if rest.peek() == Some(&&Tok::Comma) {
            rest.next();
        }
    }
    if split < toks.len() && order.is_empty() {
        return Err("ORDER BY needs a field".into());
    }
    Ok(Query { expr, order })
}

impl Query {
    /// The content types the query can match (`type` clauses), to reject what the twin does
    /// not search (attachments, comments).
    pub fn types(&self) -> Vec<String> {
        fn walk(e: &Expr, out: &mut Vec<String>) {
            match e {
                Expr::And(a, b) | Expr::Or(a, b) => {
                    walk(a, out);
                    walk(b, out);
                }
                Expr::Not(a) => walk(a, out),
                Expr::Cmp {
                    field,
                    value: Value::Text(t),
                    ..
                } if field == "type" => out.push(t.to_ascii_lowercase()),
                Expr::In { field, values, .. } if field == "type" => {
                    out.extend(values.iter().filter_map(|v| match v {
                        Value::Text(t) => Some(t.to_ascii_lowercase()),
                        _ => None,
                    }))
                }
                _ => {}
            }
        }
        let mut v = Vec::new();
        if let Some(e) = &self.expr {
            walk(e, &mut v);
        }
        v
    }

    pub fn matches(&self, d: &Dataset, c: &Content) -> bool {
        self.matches_item(d, &Item::content(c))
    }

    /// Whether an item (a page, blog post, attachment or comment) matches.
    pub fn matches_item(&self, d: &Dataset, c: &Item<'_>) -> bool {
        self.expr.as_ref().is_none_or(|e| eval(e, d, c))
    }
}

/// What a CQL query is evaluated against: the fields of a page, blog post, attachment or
/// comment that clauses can name.
pub struct Item<'a> {
    /// `page`, `blogpost`, `attachment` or `comment`.
    pub kind: &'static str,
    pub id: u64,
    pub space_id: u64,
    /// A page's parent; the content an attachment or comment is on.
    pub parent: Option<u64>,
    pub title: &'a str,
    pub body: &'a str,
    pub labels: &'a [u64],
    pub creator: &'a str,
    pub created: i64,
    pub modified: i64,
}

impl<'a> Item<'a> {
    pub fn content(c: &'a Content) -> Item<'a> {
        Item {
            kind: c.kind.as_str(),
            id: c.id,
            space_id: c.space_id,
            parent: c.parent_id,
            title: &c.title,
            body: c.current().body.as_str(),
            labels: &c.labels,
            creator: &c.author_id,
            created: c.created_at,
            modified: c.modified_at,
        }
    }

    /// An attachment; `None` when its container is gone.
    pub fn attachment(d: &Dataset, a: &'a crate::model::Attachment) -> Option<Item<'a>> {
        let c = d
            .contents
            .get(&a.container_id)
            .filter(|c| c.status == crate::model::Status::Current)?;
        Some(Item {
            kind: "attachment",
            id: a.id,
            space_id: c.space_id,
            parent: Some(a.container_id),
            title: &a.title,
            body: "",
            labels: &a.labels,
            creator: &a.author_id,
            created: a.created_at,
            modified: a.current().created_at,
        })
    }

    /// A comment with the title `Re: <container title>`; `None` when its container is gone.
    pub fn comment(d: &Dataset, c: &'a crate::model::Comment) -> Option<Item<'a>> {
        let on = d
            .contents
            .get(&c.container_id)
            .or_else(|| {
                d.attachments
                    .get(&c.container_id)
                    .and_then(|a| d.contents.get(&a.container_id))
            })
            .filter(|c| c.status == crate::model::Status::Current)?;
        Some(Item {
            kind: "comment",
            id: c.id,
            space_id: on.space_id,
            parent: Some(c.container_id),
            title: "",
            body: c.current().body.as_str(),
            labels: &[],
            creator: &c.author_id,
            created: c.created_at,
            modified: c.current().created_at,
        })
    }
}

fn eval(e: &Expr, d: &Dataset, c: &Item<'_>) -> bool {
    match e {
        Expr::And(a, b) => eval(a, d, c) && eval(b, d, c),
        Expr::Or(a, b) => eval(a, d, c) || eval(b, d, c),
        Expr::Not(a) => !eval(a, d, c),
        Expr::In {
            field,
            values,
            negated,
            texts,
        } => {
            let hit = if field == "id" {
                texts.contains(&c.id.to_string())
            } else {
                values.iter().any(|v| cmp(d, c, field, "=", v))
            };
            hit != *negated
        }
        Expr::Cmp { field, op, value } => cmp(d, c, field, op, value),
    }
}

fn cmp(d: &Dataset, c: &Item<'_>, field: &str, op: &str, value: &Value) -> bool {
    fn text(v: &Value) -> &str {
        match v {
            Value::Text(t) => t.as_str(),
            Value::Date(_) => "",
        }
    }
    let eq = |b: bool| if op == "!=" || op == "!~" { !b } else { b };
    match field {
        "type" => eq(c.kind.eq_ignore_ascii_case(text(value))),
        "space" => eq(d
            .space(c.space_id)
            .is_some_and(|s| s.key.eq_ignore_ascii_case(text(value)))),
        "space.id" => eq(c.space_id.to_string() == text(value)),
        "id" => eq(c.id.to_string() == text(value)),
        "parent" => eq(c.parent.is_some_and(|p| p.to_string() == text(value))),
        // The content an attachment or comment is on (a page's container is its space).
        "container" => eq(matches!(c.kind, "attachment" | "comment")
            && c.parent.is_some_and(|p| p.to_string() == text(value))),
        "ancestor" => {
            let target = text(value);
            let mut cur = c.parent;
            let mut found = false;
            let mut hops = 0;
            while let Some(p) = cur {
                if p.to_string() == target {
                    found = true;
                    break;
                }
                cur = d.contents.get(&p).and_then(|x| x.parent_id);
                hops += 1;
                if hops > 10_000 {
                    break;
                }
            }
            eq(found)
        }
        "title" => match op {
            "~" | "!~" => eq(c.title.to_lowercase().contains(&text(value).to_lowercase())),
            _ => eq(c.title == text(value)),
        },
        "text" => {
            let t = text(value).to_lowercase();
            eq(c.title.to_lowercase().contains(&t) || c.body.to_lowercase().contains(&t))
        }
        "label" => eq(c
            .labels
            .iter()
            .any(|l| d.labels.get(l).is_some_and(|l| l.name == text(value)))),
        "creator" => eq(c.creator == text(value)),
        "lastmodified" | "created" => {
            let Value::Date(v) = value else { return false };
            let t = if field == "created" {
                c.created
            } else {
                c.modified
            };
            match op {
                "=" => t / 60_000 == v / 60_000,
                "!=" => t / 60_000 != v / 60_000,
                "<" => t < *v,
                "<=" => t <= *v,
                ">" => t > *v,
                ">=" => t >= *v,
                _ => false,
            }
        }
        _ => false,
    }
}

/// Whether a content kind is searchable (pages and blog posts).
pub fn searchable(kind: ContentKind) -> bool {
    matches!(kind, ContentKind::Page | ContentKind::Blogpost)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_incremental_extraction_query() {
        let q = parse(r#"lastModified >= "2024-05-01 10:00" AND type = page AND space = "ENG" order by lastModified asc"#, 0).unwrap();
        assert_eq!(q.order, vec![("lastmodified".to_string(), false)]);
        match q.expr.unwrap() {
            Expr::And(a, _) => match *a {
                Expr::And(a, _) => assert_eq!(
                    *a,
                    Expr::Cmp {
                        field: "lastmodified".into(),
                        op: ">=",
                        value: Value::Date(
                            crate::time::parse_cql_date("2024-05-01 10:00").unwrap()
                        )
                    }
                ),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn in_not_parentheses_and_functions() {
        let q = parse(r#"type in (page, blogpost) and not (space = ENG or ancestor = 123) and created > now("-4w")"#, 10 * crate::time::MS_PER_DAY * 7).unwrap();
        assert_eq!(q.types(), vec!["page".to_string(), "blogpost".to_string()]);
        assert!(q.order.is_empty());
    }

    #[test]
    fn errors_are_reported() {
        for bad in [
            "type = ",
            "type page",
            "lastmodified >= \"yesterday\"",
            "foo = 1",
            "(type = page",
            "type = page order by",
            "space ~ ENG",
        ] {
            assert!(parse(bad, 0).is_err(), "{bad}");
        }
    }
}
