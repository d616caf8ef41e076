//! The progress bar on stderr for history scans: commits walked, blobs and bytes scanned,
//! findings so far. It draws only when stderr is a terminal and the user did not pass `--quiet`;
//! otherwise every call is a no-op, so sources can report progress unconditionally.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub struct Progress {
    bar: Option<ProgressBar>,
    bytes: AtomicU64,
    findings: AtomicU64,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress { bar, bytes: AtomicU64::new(0), findings: AtomicU64::new(0) }
    }

    pub fn hidden() -> Progress {
        Progress { bar: None, bytes: AtomicU64::new(0), findings: AtomicU64::new(0) }
    }

    pub fn walking(&self, commits: u64) {
        if let Some(bar) = &self.bar {
            if commits == 1 {
                bar.set_style(
                    ProgressStyle::with_template("{spinner} walking history: {pos} commits")
                        .expect("static template"),
                );
            }
            bar.set_position(commits);
        }
    }

    pub fn scanning(&self, blobs: u64) {
        if let Some(bar) = &self.bar {
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} blobs, {msg} [{elapsed}]")
                    .expect("static template"),
            );
            bar.set_length(blobs);
            bar.set_position(0);
        }
    }

    pub fn scanned(&self, bytes: usize) {
        let total = self.bytes.fetch_add(bytes as u64, Ordering::Relaxed) + bytes as u64;
        if let Some(bar) = &self.bar {
            bar.inc(1);
            let found = self.findings.load(Ordering::Relaxed);
            bar.set_message(format!("{} MB, {found} matches", total >> 20));
        }
    }

    pub fn found(&self, matches: usize) {
        self.findings.fetch_add(matches as u64, Ordering::Relaxed);
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
