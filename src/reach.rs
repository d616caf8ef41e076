//! How far a rule's matches can reach from its keywords, read from its regex's syntax tree, so
//! that the matcher runs the regex only around keyword hits instead of over whole blobs.
//!
//! A rule qualifies when its syntax proves two things about *every* possible match: it contains
//! one of the rule's keywords (a literal, in every branch, that holds the keyword), and its
//! extent is bounded, in bytes or in lines. Then every match lies in a window around one of the
//! keyword's occurrences, and searching only the merged windows finds exactly the matches a
//! search of the whole blob finds. Rules that do not qualify (a keyword that is only context,
//! like a provider's name elsewhere in the file; a `\s*` that can cross any number of lines)
//! keep whole-blob matching. Nothing here approximates: when in doubt, a rule does not qualify.

use regex_syntax::hir::{Class, Hir, HirKind, Look};
use std::cell::Cell;

/// The bounds on a rule's matches, at least one of them known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reach {
    /// The longest a match can be, in bytes.
    pub bytes: Option<usize>,
    /// The most line breaks a match can contain.
    pub lines: Option<usize>,
    /// How far from its start a match holds a whole keyword occurrence, at most: a match then
    /// starts at most this far before the end of one, however far it runs on.
    pub lead: Option<usize>,
}

/// The reach of a rule with this regex and these (lower-case) keywords, one of which must occur
/// within `near` bytes of a match if given, or `None` when its matches cannot be confined to
/// windows around the keywords.
pub fn of(regex: &str, keywords: &[impl AsRef<str>], near: Option<usize>) -> Option<Reach> {
    of_tree(&crate::syntax::tree(regex)?, keywords, near)
}

/// The reach of a regex given by its syntax tree (`syntax::tree`).
pub fn of_tree(hir: &Hir, keywords: &[impl AsRef<str>], near: Option<usize>) -> Option<Reach> {
    analyse(hir, keywords, near).ok()
}

/// What `keyrot rules --reach` says of a rule: where its regex runs, and why.
pub fn explain(regex: &str, keywords: &[impl AsRef<str>], near: Option<usize>) -> String {
    if let Some(near) = near {
        return match crate::syntax::tree(regex)
            .ok_or(UNPARSED)
            .and_then(|h| analyse(&h, keywords, Some(near)))
        {
            Ok(_) => format!("near keywords (a keyword within {near} bytes of a match)"),
            Err(why) => format!("whole text ({why}; a keyword within {near} bytes of a match)"),
        };
    }
    match crate::syntax::tree(regex).ok_or(UNPARSED).and_then(|h| analyse(&h, keywords, None)) {
        Ok(Reach { bytes: Some(bytes), .. }) => format!("near keywords (matches of at most {bytes} bytes)"),
        Ok(Reach { lines: Some(lines), .. }) => format!("near keywords ({})", spanned(lines)),
        Ok(Reach { lead: Some(lead), .. }) => {
            format!("from keywords (matches start at most {lead} bytes before a keyword's end)")
        }
        Ok(_) => unreachable!("a reach has a bound"),
        Err(why) => format!("whole text ({why})"),
    }
}

const UNPARSED: &str = "pattern not analysed";

fn analyse(hir: &Hir, keywords: &[impl AsRef<str>], near: Option<usize>) -> Result<Reach, &'static str> {
    if keywords.is_empty() {
        return Err("no keywords");
    }
    if let Some(near) = near {
        // A keyword lies within `near` bytes of each match: a match ends at most its length plus
        // `near` bytes after a keyword's start, and starts as far before its end.
        let longest = hir.properties().maximum_len().ok_or("a match's length is unbounded")?;
        return Ok(Reach { bytes: Some(longest + near), lines: None, lead: None });
    }
    if !requires(hir, keywords, &Cell::new(MAX_SEQUENCES)) {
        return Err("a match need not contain a keyword: the keyword is context");
    }
    let lead = lead(hir, keywords, &Cell::new(MAX_SEQUENCES));
    let reach = Reach { bytes: hir.properties().maximum_len(), lines: line_breaks(hir), lead };
    if reach.bytes.is_none() && reach.lines.is_none() && reach.lead.is_none() {
        return Err("a match can span any number of lines, and start far from its keyword");
    }
    Ok(reach)
}

impl Reach {
    /// The windows of keyword occurrences `spans` (each run of them sorted by start), as
    /// `window` gives them; without a byte bound, an occurrence on the same line as the one
    /// before it shares its window, so a long line with many occurrences (minified code) is
    /// searched for its line breaks once rather than once per occurrence. `None` once the
    /// windows together pass `budget` bytes: finding a window's line breaks costs its length, and
    /// a rule whose matches span 300 lines, keyed on a word that occurs on most lines of a file,
    /// would otherwise read the file hundreds of times to decide to search it whole.
    pub fn windows(
        &self,
        text: &[u8],
        spans: impl Iterator<Item = std::ops::Range<usize>>,
        budget: usize,
    ) -> Option<Vec<std::ops::Range<usize>>> {
        let mut windows: Vec<std::ops::Range<usize>> = Vec::new();
        let mut total = 0;
        let mut last: Option<usize> = None;
        for at in spans {
            let same_line = self.bytes.is_none()
                && last.is_some_and(|from| {
                    from <= at.start && memchr::memchr(b'\n', &text[from..at.end]).is_none()
                });
            if !same_line {
                let window = self.window(text, at.clone());
                total += window.len();
                if total > budget {
                    return None;
                }
                windows.push(window);
            }
            last = Some(at.start);
        }
        Some(windows)
    }

    /// The part of `text` that holds every match containing the keyword at `at`: no further than
    /// the longest match from the keyword, and within as many lines around it as a match spans;
    /// the keyword itself at least.
    pub fn window(&self, text: &[u8], at: std::ops::Range<usize>) -> std::ops::Range<usize> {
        let (mut start, mut end) = (0, text.len());
        if let Some(bytes) = self.bytes {
            start = start.max(at.end.saturating_sub(bytes));
            end = end.min(at.start.saturating_add(bytes));
        }
        if let Some(lines) = self.lines {
            // A match holds at most `lines` line breaks; only as far as the byte bound, which
            // already limits the window.
            (start, end) = lines_around(text, start..end, at.clone(), lines);
        }
        start.min(at.start)..end.max(at.end)
    }
}

/// What `keyrot rules --reach` says of matches that hold at most `breaks` line breaks.
pub fn spanned(breaks: usize) -> String {
    match breaks {
        0 => "matches lie on one line".to_string(),
        _ => format!("matches span at most {} lines", breaks + 1),
    }
}

/// The start and end of `bounds` narrowed to the lines a match around `at` can reach if it
/// holds at most `lines` line breaks: back to the start of the line `lines` above the one `at`
/// starts on, forward to the end of the line `lines` below the one it ends on. Never narrower
/// than `at` itself: a rules file may list a keyword longer than its regex's longest match,
/// whose byte bound then lies inside the keyword.
pub fn lines_around(
    text: &[u8],
    bounds: std::ops::Range<usize>,
    at: std::ops::Range<usize>,
    lines: usize,
) -> (usize, usize) {
    let (mut start, mut end) = (bounds.start.min(at.start), bounds.end.max(at.end));
    if let Some(n) = memchr::memrchr_iter(b'\n', &text[start..at.start]).nth(lines) {
        start += n + 1;
    }
    if let Some(n) = memchr::memchr_iter(b'\n', &text[at.end..end]).nth(lines) {
        end = at.end + n + 1;
    }
    (start, end)
}

/// How many sequences one analysis of a rule may spell out from its alternations' branches
/// (`each_branch`) before it gives up (and the rule does not qualify).
const MAX_SEQUENCES: usize = 128;

/// Whether every match of `hir` contains one of `keywords` (ASCII case-insensitively).
fn requires(hir: &Hir, keywords: &[impl AsRef<str>], budget: &Cell<usize>) -> bool {
    if let Some(strings) = strings(hir) {
        return strings.iter().all(|s| holds_keyword(s, keywords));
    }
    match hir.kind() {
        HirKind::Capture(capture) => requires(&capture.sub, keywords, budget),
        HirKind::Repetition(repetition) => repetition.min >= 1 && requires(&repetition.sub, keywords, budget),
        HirKind::Alternation(branches) => branches.iter().all(|b| requires(b, keywords, budget)),
        // One item requires a keyword on its own, or a run of consecutive items, each matching
        // one of a few strings, spells a keyword in every combination, or else every branch of
        // an alternation among the items does with the items around it.
        HirKind::Concat(items) => {
            let each = Strings::of(items);
            (0..items.len()).any(|i| requires(&items[i], keywords, budget) || each.spell(i, false, keywords))
                || each_branch(items, budget)
                    .is_some_and(|sequences| sequences.iter().all(|s| requires(s, keywords, budget)))
        }
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) | HirKind::Look(_) => false,
    }
}

/// The sequence `items` spelled out once for each branch of its first alternation, or `None`
/// when it has none or `budget` is spent. The parser lifts a common prefix out of an
/// alternation's branches: `(?i:mandrill|mailchimp)` is `ma(?:ndrill|ilchimp)`, where no item
/// holds either keyword, but each of the sequences `mandrill`, `mailchimp` does.
fn each_branch(items: &[Hir], budget: &Cell<usize>) -> Option<Vec<Hir>> {
    let i = items.iter().position(|item| matches!(item.kind(), HirKind::Alternation(_)))?;
    let HirKind::Alternation(branches) = items[i].kind() else { unreachable!("found above") };
    budget.set(budget.get().checked_sub(branches.len())?);
    let sequence = |branch: &Hir| {
        Hir::concat(items[..i].iter().chain([branch]).chain(&items[i + 1..]).cloned().collect())
    };
    Some(branches.iter().map(sequence).collect())
}

/// The longest the part of a match up to the end of its first keyword can be: in a sequence,
/// the items up to one that holds a keyword (alone, or as a run of few strings with the items
/// before it), when all of them have a maximum length; or the longest of the sequences spelled
/// out for each branch of an alternation among them (`each_branch`).
fn lead(hir: &Hir, keywords: &[impl AsRef<str>], budget: &Cell<usize>) -> Option<usize> {
    match hir.kind() {
        HirKind::Capture(capture) => lead(&capture.sub, keywords, budget),
        HirKind::Alternation(branches) => {
            branches.iter().try_fold(0usize, |most, branch| Some(most.max(lead(branch, keywords, budget)?)))
        }
        HirKind::Concat(items) => {
            let each = Strings::of(items);
            let holds = |j: usize| requires(&items[j], keywords, budget) || each.spell(j, true, keywords);
            let Some(end) = (0..items.len()).find(|&j| holds(j)) else {
                return each_branch(items, budget)?
                    .iter()
                    .try_fold(0usize, |most, sequence| Some(most.max(lead(sequence, keywords, budget)?)));
            };
            items[..=end]
                .iter()
                .try_fold(0usize, |sum, item| sum.checked_add(item.properties().maximum_len()?))
        }
        _ if requires(hir, keywords, budget) => hir.properties().maximum_len(),
        _ => None,
    }
}

/// The strings of each item of a sequence (`strings`), worked out when first asked for.
struct Strings<'a> {
    items: &'a [Hir],
    each: Vec<std::cell::OnceCell<Option<Vec<Vec<u8>>>>>,
}

impl<'a> Strings<'a> {
    fn of(items: &'a [Hir]) -> Strings<'a> {
        Strings { items, each: items.iter().map(|_| std::cell::OnceCell::new()).collect() }
    }

    /// Whether a run of consecutive items spells one of `keywords` in every combination of
    /// their strings: a run from item `from` growing forwards, or ending at item `from` and
    /// growing backwards. It grows one item at a time, and stops at an item with many strings.
    fn spell(&self, from: usize, backwards: bool, keywords: &[impl AsRef<str>]) -> bool {
        let order: Box<dyn Iterator<Item = usize>> =
            if backwards { Box::new((0..=from).rev()) } else { Box::new(from..self.items.len()) };
        let mut run: Vec<Vec<u8>> = vec![Vec::new()];
        for k in order {
            let Some(strings) = self.each[k].get_or_init(|| strings(&self.items[k])) else { return false };
            let grown = if backwards { product(strings, &run) } else { product(&run, strings) };
            let Some(grown) = grown else { return false };
            run = grown;
            if run.iter().all(|s| holds_keyword(s, keywords)) {
                return true;
            }
        }
        false
    }
}

/// The bytes that may come right before a keyword occurrence that every match holds (the
/// text's start always may), bit `b` of word `b / 64` for byte `b`. A match of
/// `(?:^|[^A-Za-z0-9])(?i:lob)…` holds `lob` right after a byte that is not a letter or digit:
/// in a text where every `lob` is part of `blob` or `global`, the rule has no match, and its
/// regex need not even be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Before(pub [u64; 4]);

impl Before {
    /// Whether a keyword occurrence at `at` in `text` may be one a match holds.
    pub fn allows(&self, text: &[u8], at: usize) -> bool {
        at == 0 || self.has(text[at - 1])
    }

    fn has(&self, byte: u8) -> bool {
        self.0[usize::from(byte >> 6)] & (1 << (byte & 63)) != 0
    }

    fn of(bytes: impl Iterator<Item = u8>) -> Before {
        let mut set = Before([0; 4]);
        for byte in bytes {
            set.0[usize::from(byte >> 6)] |= 1 << (byte & 63);
        }
        set
    }

    fn or(self, other: Before) -> Before {
        Before(std::array::from_fn(|i| self.0[i] | other.0[i]))
    }
}

/// Whether every match of `hir` starts at the start of the text (`\A`, or `^` outside
/// multi-line mode).
pub fn at_start(hir: &Hir) -> bool {
    hir.properties().look_set_prefix().contains(Look::Start)
}

/// What may come before the keyword every match of `hir` holds (`Before`), when its syntax
/// says: in a sequence, a run of items whose every string starts with a keyword, after an item
/// that is one byte of a class, a literal, a line start or a word boundary (before a word byte);
/// in an alternation, what its branches allow together. `None` when it cannot tell.
pub fn before(hir: &Hir, keywords: &[impl AsRef<str>]) -> Option<Before> {
    match hir.kind() {
        HirKind::Capture(capture) => before(&capture.sub, keywords),
        HirKind::Alternation(branches) => {
            branches.iter().try_fold(Before([0; 4]), |all, branch| Some(all.or(before(branch, keywords)?)))
        }
        HirKind::Concat(_) => {
            let mut items = Vec::new();
            flatten(hir, &mut items);
            (1..items.len()).find_map(|i| edge(items[i - 1], &keyword_run(&items[i..], keywords)?))
        }
        _ => None,
    }
}

/// The items of a sequence, with the sequences in its groups spliced in.
fn flatten<'a>(hir: &'a Hir, items: &mut Vec<&'a Hir>) {
    match hir.kind() {
        HirKind::Capture(capture) => flatten(&capture.sub, items),
        HirKind::Concat(parts) => parts.iter().for_each(|part| flatten(part, items)),
        _ => items.push(hir),
    }
}

/// The first bytes of the strings of the shortest run from the start of `items` whose every
/// string starts with a keyword, if there is one.
fn keyword_run(items: &[&Hir], keywords: &[impl AsRef<str>]) -> Option<Vec<u8>> {
    // An alternation too large to spell out (`\b(?:curl…|wget…)`, as the parser factors
    // `\bcurl…|\bwget…`): each branch, followed by the rest.
    if let [first, rest @ ..] = items {
        if let HirKind::Alternation(branches) = first.kind() {
            if strings(first).is_none() {
                let mut firsts = Vec::new();
                for branch in branches {
                    let mut sequence = Vec::new();
                    flatten(branch, &mut sequence);
                    sequence.extend_from_slice(rest);
                    firsts.extend(keyword_run(&sequence, keywords)?);
                }
                return Some(firsts);
            }
        }
    }
    let (_, run) = spelled(items, keywords)?;
    Some(run.iter().map(|s| s[0]).collect())
}

/// The shortest run of items from the start of `items` whose every string starts with a
/// keyword: how many items, and their strings.
fn spelled(items: &[&Hir], keywords: &[impl AsRef<str>]) -> Option<(usize, Vec<Vec<u8>>)> {
    let keywords: Vec<&[u8]> = keywords.iter().map(|k| k.as_ref().as_bytes()).collect();
    let mut run: Vec<Vec<u8>> = vec![Vec::new()];
    for (i, item) in items.iter().enumerate() {
        run = product(&run, &strings(item)?)?;
        let starts = |s: &Vec<u8>| keywords.iter().any(|k| !k.is_empty() && s.starts_with(k));
        if run.iter().all(starts) {
            return Some((i + 1, run));
        }
        // A string no longer a keyword's beginning will never start with one.
        if !run.iter().all(|s| starts(s) || keywords.iter().any(|k| k.starts_with(s))) {
            return None;
        }
    }
    None
}

/// One of a few strings that every match holds a bounded distance after the start of the
/// keyword it holds: `\b(pat[A-Za-z0-9]{14}\.…` holds `.` 17 bytes after the start of `pat`,
/// `(?i:shortcut)[\w.-]{0,25}?(?i:token|api[_-]?key)…` one of four words 8 to 33 bytes after
/// the start of `shortcut`. A keyword occurrence without one is not the one a match holds.
/// The strings are lower-case and compared ignoring case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct After<L> {
    pub min: u32,
    pub max: u32,
    pub strings: L,
}

/// The farthest, and the widest range of distances, an `After` is looked for at, and the most
/// strings it holds: each keyword occurrence is checked at each distance for each string.
const AFTER_MAX: usize = 64;
const AFTER_SPREAD: usize = 48;
const AFTER_STRINGS: usize = 8;

impl<L> After<L> {
    /// The same, its strings held in another kind of list.
    pub fn with_strings<M>(self, convert: impl FnOnce(L) -> M) -> After<M> {
        After { min: self.min, max: self.max, strings: convert(self.strings) }
    }
}

impl<L: std::ops::Deref<Target = [S]>, S: AsRef<str>> After<L> {
    /// Whether a keyword occurrence starting at `at` in `text` has one of the strings after it.
    pub fn allows(&self, text: &[u8], at: usize) -> bool {
        let rest = text.get(at + self.min as usize..).unwrap_or_default();
        // A string's first byte is compared before the rest of it (strings are lower-case).
        (0..=(self.max - self.min) as usize).take_while(|&d| d < rest.len()).any(|d| {
            let (first, rest) = (rest[d].to_ascii_lowercase(), &rest[d..]);
            self.strings.iter().map(|s| s.as_ref().as_bytes()).any(|s| {
                s.first() == Some(&first) && rest.len() >= s.len() && rest[..s.len()].eq_ignore_ascii_case(s)
            })
        })
    }
}

/// The `After` of a regex whose matches are a sequence that holds a run spelling a keyword,
/// followed by items of bounded length and then an item of a few strings, none empty.
pub fn after(hir: &Hir, keywords: &[impl AsRef<str>]) -> Option<After<Vec<String>>> {
    let mut items = Vec::new();
    match hir.kind() {
        HirKind::Concat(_) | HirKind::Capture(_) => flatten(hir, &mut items),
        _ => return None,
    }
    let (start, (len, run)) = (0..items.len()).find_map(|i| Some((i, spelled(&items[i..], keywords)?)))?;
    let (mut min, mut max) = (run.iter().map(Vec::len).min()?, run.iter().map(Vec::len).max()?);
    // A few strings, none empty, grown over the items that follow as long as they stay few
    // (`(?i)token` is a run of five classes).
    let few =
        |hir: &Hir| strings(hir).filter(|s| s.len() <= AFTER_STRINGS && s.iter().all(|s| !s.is_empty()));
    for (k, item) in items.iter().enumerate().skip(start + len) {
        if let Some(mut found) = few(item) {
            for next in &items[k + 1..] {
                match few(next).and_then(|more| product(&found, &more)).filter(|s| s.len() <= AFTER_STRINGS) {
                    Some(longer) => found = longer,
                    None => break,
                }
            }
            let strings = found.into_iter().map(String::from_utf8).collect::<Result<Vec<_>, _>>().ok()?;
            return Some(After { min: u32::try_from(min).ok()?, max: u32::try_from(max).ok()?, strings });
        }
        min += item.properties().minimum_len()?;
        max += item.properties().maximum_len()?;
        if max > AFTER_MAX || max - min > AFTER_SPREAD {
            return None;
        }
    }
    None
}

/// The bytes that can come right before a match of what follows `hir`, whose first byte is
/// one of `firsts`, when `hir` says.
fn edge(hir: &Hir, firsts: &[u8]) -> Option<Before> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    match hir.kind() {
        HirKind::Literal(literal) => Some(Before::of(literal.0.last().copied().into_iter())),
        HirKind::Class(Class::Bytes(class)) => {
            Some(Before::of(class.iter().flat_map(|r| r.start()..=r.end())))
        }
        HirKind::Class(Class::Unicode(class)) => {
            // A character past ASCII ends with a byte of 0x80 or more.
            let ascii = class
                .iter()
                .flat_map(|r| r.start()..=r.end().min('\x7f'))
                .filter_map(|c| u8::try_from(c).ok());
            let wide = class.iter().any(|r| r.end() > '\x7f');
            Some(Before::of(ascii.chain((0x80..=0xff).filter(|_| wide))))
        }
        HirKind::Look(Look::Start) => Some(Before([0; 4])),
        HirKind::Look(Look::StartLF) => Some(Before::of([b'\n'].into_iter())),
        HirKind::Look(Look::StartCRLF) => Some(Before::of([b'\r', b'\n'].into_iter())),
        HirKind::Look(Look::WordAscii | Look::WordStartAscii | Look::WordStartHalfAscii)
            if firsts.iter().all(|&b| word(b)) =>
        {
            Some(Before::of((0..=255).filter(|&b| !word(b))))
        }
        HirKind::Capture(capture) => edge(&capture.sub, firsts),
        HirKind::Alternation(branches) => {
            branches.iter().try_fold(Before([0; 4]), |all, branch| Some(all.or(edge(branch, firsts)?)))
        }
        _ => None,
    }
}

/// At most this many strings stand for a finite piece of a pattern.
const MAX_STRINGS: usize = 256;

/// Every string (lower-cased) that `hir` can match, when there are few: literals, small classes,
/// alternations of those and short bounded repetitions. Zero-width assertions match "".
fn strings(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    let mut out: Vec<Vec<u8>> = match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => vec![Vec::new()],
        HirKind::Literal(literal) => vec![literal.0.to_ascii_lowercase()],
        HirKind::Class(class) => class_bytes(class)?.into_iter().map(|b| vec![b]).collect(),
        HirKind::Capture(capture) => strings(&capture.sub)?,
        HirKind::Concat(items) => strings_of(items)?,
        HirKind::Alternation(branches) => {
            let mut all = Vec::new();
            for branch in branches {
                all.extend(strings(branch)?);
            }
            all
        }
        HirKind::Repetition(repetition) => {
            let max = repetition.max.filter(|&m| m <= 4)?;
            let sub = strings(&repetition.sub)?;
            let mut all = Vec::new();
            let mut power = vec![Vec::new()];
            for n in 0..=max {
                if n >= repetition.min {
                    all.extend(power.iter().cloned());
                }
                power = product(&power, &sub)?;
            }
            all
        }
    };
    out.sort();
    out.dedup();
    (out.len() <= MAX_STRINGS).then_some(out)
}

/// Every string a sequence of items can match, when there are few.
fn strings_of(items: &[Hir]) -> Option<Vec<Vec<u8>>> {
    items.iter().try_fold(vec![Vec::new()], |acc, item| product(&acc, &strings(item)?))
}

fn product(left: &[Vec<u8>], right: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    if left.len().saturating_mul(right.len()) > MAX_STRINGS {
        return None;
    }
    Some(left.iter().flat_map(|l| right.iter().map(move |r| [l.as_slice(), r].concat())).collect())
}

/// The bytes (lower-cased) of a class of at most eight, once case is set aside.
fn class_bytes(class: &Class) -> Option<Vec<u8>> {
    let mut bytes: Vec<u8> = match class {
        Class::Bytes(class) => {
            class.iter().flat_map(|r| r.start()..=r.end()).take(64).map(|b| b.to_ascii_lowercase()).collect()
        }
        Class::Unicode(class) => class
            .iter()
            .flat_map(|r| r.start()..=r.end())
            .take(64)
            .map(|c| u8::try_from(c).ok().filter(u8::is_ascii).map(|b| b.to_ascii_lowercase()))
            .collect::<Option<_>>()?,
    };
    bytes.sort_unstable();
    bytes.dedup();
    (bytes.len() <= 8).then_some(bytes)
}

/// Whether `text` (lower-case, as `strings` gives it) holds one of `keywords`.
fn holds_keyword(text: &[u8], keywords: &[impl AsRef<str>]) -> bool {
    keywords
        .iter()
        .map(|k| k.as_ref().as_bytes())
        .any(|k| !k.is_empty() && text.windows(k.len()).any(|w| w == k))
}

/// The most line breaks a match can contain, or `None` if there is no bound.
pub fn line_breaks(hir: &Hir) -> Option<usize> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Some(0),
        HirKind::Literal(literal) => Some(literal.0.iter().filter(|&&b| b == b'\n').count()),
        HirKind::Class(Class::Bytes(class)) => {
            Some(usize::from(class.iter().any(|r| r.start() <= b'\n' && b'\n' <= r.end())))
        }
        HirKind::Class(Class::Unicode(class)) => {
            Some(usize::from(class.iter().any(|r| r.start() <= '\n' && '\n' <= r.end())))
        }
        HirKind::Capture(capture) => line_breaks(&capture.sub),
        HirKind::Repetition(repetition) => match (line_breaks(&repetition.sub)?, repetition.max) {
            (0, _) => Some(0),
            (n, Some(max)) => n.checked_mul(max as usize),
            (_, None) => None,
        },
        HirKind::Concat(items) => {
            items.iter().try_fold(0usize, |sum, item| sum.checked_add(line_breaks(item)?))
        }
        HirKind::Alternation(branches) => {
            branches.iter().try_fold(0usize, |most, b| Some(most.max(line_breaks(b)?)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reach(regex: &str, keywords: &[&str]) -> Option<Reach> {
        of(regex, keywords, None)
    }

    #[test]
    fn a_window_holds_a_keyword_longer_than_the_longest_match() {
        let text = b"one\na_context_name_longer_than_any_match\nzz_abcdefghij0123456789\n";
        let reach = reach(r"zz_([a-z0-9]{20})", &["zz_", "a_context_name_longer_than_any_match"]).unwrap();
        assert_eq!((reach.bytes, reach.lines), (Some(23), Some(0)));
        let at = 4..40;
        let window = reach.window(text, at.clone());
        assert!(window.start <= at.start && at.end <= window.end, "{window:?}");
    }

    #[test]
    fn what_follows_the_keyword_a_match_holds() {
        let after =
            |regex: &str, keywords: &[&str]| super::after(&crate::syntax::tree(regex).unwrap(), keywords);
        let pat = after(r"\b(pat[A-Za-z0-9]{14}\.[a-f0-9]{64})\b", &["pat"]).expect("a dot 17 bytes on");
        assert_eq!((pat.min, pat.max, pat.strings.clone()), (17, 17, vec![".".to_string()]));
        assert!(pat.allows(b"x patABCDEFGHIJKLMN.", 2));
        assert!(!pat.allows(b"x path/to/the/file_rs", 2) && !pat.allows(b"pat", 0));
        let words =
            after(r"(?i:shortcut)[\w.-]{0,25}?(?i:token|api[_-]?key)\s*=", &["shortcut"]).expect("words");
        assert_eq!((words.min, words.max), (8, 33));
        assert!(words.allows(b"SHORTCUT_API_KEY = 1", 0) && words.allows(b"shortcut.token", 0));
        assert!(!words.allows(b"shortcut for the loop below", 0));
        assert!(after(r"(?i:token)[ \t]*=[ \t]*x", &["token"]).is_none(), "a gap of any length");
        assert!(after(r"token=[a-z0-9]{8,40}", &["token"]).is_none(), "nothing but a long class after");
        assert!(after(r"token(?:=|:|=>)?x", &["token"]).is_some_and(|a| a.strings == ["x"]));
        let word = after(r"(?i)sanity[\w.\s]{0,40}?token", &["sanity"]).expect("a word 6 to 46 bytes on");
        assert_eq!((word.min, word.max, word.strings), (6, 46, vec!["token".to_string()]), "the whole word");
    }

    #[test]
    fn what_may_come_before_the_keyword_a_match_holds() {
        let before =
            |regex: &str, keywords: &[&str]| super::before(&crate::syntax::tree(regex).unwrap(), keywords);
        let lob = before(r"(?:^|[^A-Za-z0-9])(?i:lob)[\w.-]{0,20}?key", &["lob"]).expect("a boundary");
        assert!(lob.allows(b"lob", 0) && lob.allows(b" lob", 1) && lob.allows(b"_LOB", 1));
        assert!(!lob.allows(b"blob", 1) && !lob.allows(b"9lob", 1));
        let curl = before(r"\bcurl\b.{0,9}-u|\bwget\b.{0,9}--password", &["curl", "wget"]).expect("factored");
        assert!(curl.allows(b"(curl", 1) && curl.allows(b" wget", 1));
        assert!(!curl.allows(b"libcurl", 3) && !curl.allows(b"_wget", 1));
        let token = before(r"\b(ghp_[A-Za-z0-9]{36})\b", &["ghp_"]).expect("inside a group");
        assert!(token.allows(b"=ghp_", 1) && !token.allows(b"xghp_", 1));
        let line = before(r"(?m)^(?:export )?token=", &["token"]);
        assert_eq!(line, None, "the keyword follows an optional word");
        assert!(before(r"(?m)^token=", &["token"]).unwrap().allows(b"a\ntoken", 2));
        assert!(!before(r"^token=", &["token"]).unwrap().allows(b"a\ntoken", 2), "only the text's start");
        assert!(before(r"[a-z_]{0,30}token", &["token"]).is_none(), "any byte may come before");
        assert!(before(r"\b(?:dd|datadog)_key", &["datadog"]).is_none(), "dd is no keyword");
        assert!(before(r"\b_?token", &["token"]).is_none(), "an optional byte before");
        assert!(before(r"\b(?:token|\.x)", &["token"]).is_none(), "a branch without the keyword");
    }

    #[test]
    fn a_keyword_in_every_match_with_a_bounded_extent_qualifies() {
        assert_eq!(
            reach(r"\b(ghp_[A-Za-z0-9]{36})\b", &["ghp_"]),
            Some(Reach { bytes: Some(40), lines: Some(0), lead: Some(40) })
        );
        let generic = r#"(?i)[a-z]{0,4}(?:password|token)[ \t]*=[ \t]*"?([A-Za-z0-9]{10,20})"?(?:\s|$)"#;
        assert_eq!(
            reach(generic, &["password", "token"]),
            Some(Reach { bytes: None, lines: Some(1), lead: Some(12) })
        );
        let lob = reach(r"(?:^|[^a-z])(?i)lob[_-]key\s*=\s*(\w+)", &["lob"]).unwrap();
        assert_eq!(
            (lob.bytes, lob.lines, lob.lead),
            (None, None, Some(4)),
            "\\s* crosses lines; the start is near"
        );
        assert!(reach(r"(?i)\w+lob[_-]key\s*=\s*(\w+)", &["lob"]).is_none(), "unbounded both ways");
        assert!(reach(r"(?i)LOB[_-]key=(\w{8})", &["lob"]).is_some(), "(?i) letters form the keyword");
        // The parser makes this `ma(?:ndrill|ilchimp[\w.]{0,9}transactional)`: no item holds a
        // keyword, and the alternation has too many strings to spell out; each branch's
        // sequence holds one.
        let factored = r"(?:^|\W)(?i:mandrill|mailchimp[\w.]{0,9}transactional)[\w.]{0,9}=\s*(\w{22})";
        let keywords = ["mandrill", "transactional"];
        assert_eq!(reach(factored, &keywords), Some(Reach { bytes: None, lines: None, lead: Some(32) }));
        assert!(reach(factored, &keywords[..1]).is_none(), "mailchimp alone holds no keyword");
    }

    #[test]
    fn a_keyword_that_may_be_missing_from_a_match_does_not_qualify() {
        assert!(reach(r"\b([0-9a-f]{32})\b", &["fal"]).is_none(), "context keyword");
        assert!(reach(r"(?:fal_)?([0-9a-f]{32})", &["fal_"]).is_none(), "optional keyword");
        assert!(reach(r"(?:fal|other)_([0-9a-f]{32})", &["fal"]).is_none(), "one branch lacks it");
        assert!(reach(r"(?:fal|FAL)_([0-9a-f]{32})", &["fal"]).is_some(), "every branch has it");
        assert!(reach(r"(?:sk_)(live)_(\w{24})", &["sk_live"]).is_some(), "a keyword split across a group");
        let spelled = r"(?i)(?:passw(?:or)?d|api[_.-]?key)\s{0,3}=\s{0,3}(\w{8,40})";
        assert!(reach(spelled, &["password", "passwd", "key"]).is_some(), "every spelling holds a keyword");
        assert!(reach(spelled, &["password", "key"]).is_none(), "passwd holds neither");
    }

    #[test]
    fn a_context_keyword_within_near_bytes_bounds_the_window() {
        let keywords = ["clockify"];
        let near = of(r"\b([a-f0-9]{32})\b", &keywords, Some(40));
        assert_eq!(near, Some(Reach { bytes: Some(72), lines: None, lead: None }), "32 bytes of match + 40");
        assert!(of(r"\b([a-f0-9]{32,})\b", &keywords, Some(40)).is_none(), "unbounded match");
        assert!(explain(r"\b([a-f0-9]{32})\b", &keywords, Some(40)).starts_with("near keywords"));
    }

    #[test]
    fn windows_stop_once_they_pass_their_budget() {
        // A keyword on each of 40 lines, windows of three lines each: 40 windows, 3 lines each.
        let text: String = (0..40).map(|i| format!("line {i:02} token\n")).collect();
        let spans = || (0..40).map(|i| i * 14 + 8..i * 14 + 13);
        let lines = Reach { bytes: None, lines: Some(1), lead: None };
        let all = lines.windows(text.as_bytes(), spans(), usize::MAX).expect("no budget");
        assert_eq!(all.len(), 40);
        let total: usize = all.iter().map(|w| w.len()).sum();
        assert_eq!(lines.windows(text.as_bytes(), spans(), total), Some(all), "a budget they fit");
        assert_eq!(lines.windows(text.as_bytes(), spans(), total - 1), None, "one byte short");
    }

    #[test]
    fn windows_cover_every_match_around_a_keyword() {
        let text = b"one\ntwo token=abc\nthree\nfour";
        let at = 8..13; // "token"
        let lines = Reach { bytes: None, lines: Some(1), lead: None };
        assert_eq!(&text[lines.window(text, at.clone())], b"one\ntwo token=abc\nthree\n");
        let bytes = Reach { bytes: Some(7), lines: None, lead: None };
        assert_eq!(lines_of(text, bytes.window(text, at.clone())), "o token=a");
        let both = Reach { bytes: Some(11), lines: Some(0), lead: None };
        assert_eq!(lines_of(text, both.window(text, at)), "two token=abc\n", "the tighter of the two bounds");
        let empty_line_above = b"\nabc token";
        assert_eq!(&empty_line_above[lines.window(empty_line_above, 4..9)], b"\nabc token");
        let at_start = 0..3;
        assert_eq!(&text[lines.window(text, at_start)], b"one\ntwo token=abc\n");
    }

    fn lines_of(text: &[u8], range: std::ops::Range<usize>) -> String {
        String::from_utf8_lossy(&text[range]).into_owned()
    }
}
