//! Which keys must be rotated, and how urgently: a pure decision from what the repository says
//! about each finding (its `Facts`, gathered by `exposure.rs`). Nothing here touches git or prints.
//!
//! | where the secret is             | exposure | what the user is told                          |
//! | ------------------------------- | -------- | ---------------------------------------------- |
//! | only in the staged change       | staged   | unstage or remove it; no rotation needed        |
//! | in commits no remote has        | local    | rewrite the local commits; rotate if unsure     |
//! | in a commit a remote has        | pushed   | rotate now, at the provider's page              |

use crate::report::{Row, Status};
use crate::source::CommitInfo;
use crate::verify::Verification;
use std::cmp::Reverse;
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exposure {
    /// Not committed: only in the index.
    Staged,
    /// Committed, but in no commit reachable from a remote-tracking ref.
    Local,
    /// In a commit reachable from these remotes' tracking refs.
    Pushed(Vec<String>),
}

impl Exposure {
    pub fn name(&self) -> &'static str {
        match self {
            Exposure::Staged => "staged",
            Exposure::Local => "local",
            Exposure::Pushed(_) => "pushed",
        }
    }

    pub fn needs_rotation(&self) -> bool {
        !matches!(self, Exposure::Staged)
    }
}

/// What the repository says about one finding.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Facts {
    pub exposure: Option<Exposure>,
    /// The first commit that contained it, when known.
    pub first_seen: Option<Arc<CommitInfo>>,
    /// Whether HEAD's tree still contains it (None: not known, e.g. no commits).
    pub in_head: Option<bool>,
    /// Whether the working tree still contains it (checked only when HEAD does).
    pub in_worktree: Option<bool>,
    /// The first commit on HEAD's first-parent line that no longer contains it.
    pub removed_in: Option<Arc<CommitInfo>>,
}

/// Indices of the rows to list under "Keys to rotate", most urgent first: pushed, then local,
/// then staged; within each, a key its provider says is live before one it could not check, and
/// that before a dead one; then the oldest exposure first; then by rule id for stability. A key
/// recorded as rotated is listed only when its provider still accepts it.
pub fn order(rows: &[Row]) -> Vec<usize> {
    let mut listed: Vec<usize> = (0..rows.len())
        .filter(|&i| rows[i].facts.as_ref().is_some_and(|f| f.exposure.is_some()))
        .filter(|&i| rows[i].status != Status::Rotated || rows[i].rotation_failed())
        .collect();
    listed.sort_by_key(|&i| {
        let row = &rows[i];
        let f = row.facts.as_ref().expect("listed rows have facts");
        let urgency = Reverse(f.exposure.clone().map(|e| rank(&e)));
        let liveness = match row.verification {
            Some(Verification::Live) => 0,
            None | Some(Verification::Unknown(_)) => 1,
            Some(Verification::Dead) => 2,
        };
        let since = f.first_seen.as_ref().map_or(i64::MAX, |c| c.time);
        (urgency, liveness, since, row.finding.rule.id.clone(), row.finding.fingerprint.clone())
    });
    listed
}

fn rank(exposure: &Exposure) -> u8 {
    match exposure {
        Exposure::Staged => 0,
        Exposure::Local => 1,
        Exposure::Pushed(_) => 2,
    }
}

/// Whole days from `then` to `now` (never negative).
pub fn days_exposed(then: i64, now: i64) -> i64 {
    ((now - then) / 86_400).max(0)
}

/// One sentence of advice for a finding with this exposure.
pub fn advice(facts: &Facts) -> String {
    let present = match (facts.in_head, facts.in_worktree) {
        (Some(true), Some(true)) => {
            " It is still in HEAD and in the working tree: move it to an untracked .env or a secret store."
        }
        (Some(true), _) => " It is still in HEAD: remove it from the code.",
        _ => "",
    };
    let action = match &facts.exposure {
        Some(Exposure::Pushed(remotes)) => {
            format!(
                "Rotate now: it was pushed to {}; anyone with access may have copied it.",
                remotes.join(", ")
            )
        }
        Some(Exposure::Local) => "Not pushed yet: remove it from the local commits before pushing \
             (git commit --amend, or git rebase -i), and rotate it if it may have leaked elsewhere."
            .to_string(),
        Some(Exposure::Staged) => {
            "Not committed yet: unstage or remove it; no rotation is needed.".to_string()
        }
        None => String::new(),
    };
    format!("{action}{present}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Finding;
    use crate::matcher::Evidence;
    use crate::rules::RuleMeta;
    use crate::secret::{Fingerprint, Secret};

    fn finding(id: &str) -> Finding {
        Finding {
            fingerprint: Fingerprint::of(id, id.as_bytes()),
            rule: Arc::new(RuleMeta {
                id: id.to_string().into(),
                description: id.to_string().into(),
                provider: None,
                tags: Default::default(),
                rotate: None,
                confidence: crate::rules::Confidence::High,
            }),
            evidence: Evidence::Secret { secret: Secret::new(id.as_bytes()), public: None },
            locations: vec![],
            more_locations: 0,
        }
    }

    fn commit(time: i64) -> Arc<CommitInfo> {
        Arc::new(CommitInfo {
            id: format!("{time:040}"),
            author: "a".into(),
            email: "a@b".into(),
            time,
            offset_minutes: 0,
            summary: String::new(),
            order: 0,
        })
    }

    fn facts(exposure: Exposure, time: Option<i64>) -> Facts {
        Facts { exposure: Some(exposure), first_seen: time.map(commit), ..Facts::default() }
    }

    fn rows(findings: Vec<Finding>, facts: Vec<Facts>) -> Vec<Row> {
        findings
            .into_iter()
            .zip(facts)
            .map(|(finding, facts)| Row { facts: Some(facts), ..Row::new(finding, Status::Reported) })
            .collect()
    }

    #[test]
    fn pushed_before_local_before_staged_and_older_first() {
        let findings = vec![finding("s"), finding("l"), finding("p-new"), finding("p-old"), finding("dir")];
        let facts = vec![
            facts(Exposure::Staged, None),
            facts(Exposure::Local, Some(50)),
            facts(Exposure::Pushed(vec!["origin".into()]), Some(200)),
            facts(Exposure::Pushed(vec!["origin".into()]), Some(100)),
            Facts::default(),
        ];
        assert_eq!(order(&rows(findings, facts)), vec![3, 2, 1, 0]);
    }

    #[test]
    fn a_live_pushed_key_comes_first_and_a_rotated_one_only_when_it_still_works() {
        let pushed = || facts(Exposure::Pushed(vec!["origin".into()]), Some(100));
        let mut rows = rows(
            vec![
                finding("dead"),
                finding("unchecked"),
                finding("live"),
                finding("rotated"),
                finding("failed"),
            ],
            vec![
                pushed(),
                pushed(),
                facts(Exposure::Pushed(vec!["origin".into()]), Some(300)),
                pushed(),
                pushed(),
            ],
        );
        rows[0].verification = Some(Verification::Dead);
        rows[2].verification = Some(Verification::Live);
        rows[3].status = Status::Rotated;
        rows[3].verification = Some(Verification::Dead);
        rows[4].status = Status::Rotated;
        rows[4].verification = Some(Verification::Live);
        assert_eq!(order(&rows), vec![4, 2, 1, 0]);
    }

    #[test]
    fn advice_says_rotate_now_only_when_pushed() {
        assert!(advice(&facts(Exposure::Pushed(vec!["origin".into()]), Some(1))).starts_with("Rotate now"));
        assert!(advice(&facts(Exposure::Pushed(vec!["origin".into()]), Some(1))).contains("origin"));
        assert!(advice(&facts(Exposure::Local, Some(1))).starts_with("Not pushed yet"));
        assert!(advice(&facts(Exposure::Staged, None)).contains("no rotation is needed"));
        assert!(!Exposure::Staged.needs_rotation());
        assert!(Exposure::Local.needs_rotation());
    }

    #[test]
    fn days_are_whole_and_never_negative() {
        assert_eq!(days_exposed(0, 86_400 * 3 + 5), 3);
        assert_eq!(days_exposed(100, 0), 0);
    }
}
