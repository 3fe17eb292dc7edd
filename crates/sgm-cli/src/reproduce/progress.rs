//! The progress view across a whole reproduction: which stage, how far, how much of the budget is left. Each
//! training run shows its own epoch/step bars (or log lines when stderr is not a terminal) below these lines.

use super::plan::Plan;
use std::path::Path;
use std::time::Instant;

/// Stage lines on stderr.
pub struct Stages {
    started: Instant,
    budget_minutes: f64,
    index: usize,
    total: usize,
}

impl Stages {
    /// Counts the stages of `plan`.
    pub fn new(plan: &Plan, started: Instant) -> Self {
        let total = 1 + 2 * (plan.runs.len() + plan.replicas.len()) + usize::from(plan.subclasses.is_some()) + 1;
        let seeds = if plan.replicas.is_empty() {
            String::new()
        } else {
            format!(", each with {} seeds", 1 + plan.replicas.len() / plan.runs.len().max(1))
        };
        eprintln!(
            "sgm reproduce: {} run(s) ({}){seeds} on {}, budget {:.1} min",
            plan.runs.len(),
            plan.runs.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(", "),
            plan.profile,
            plan.budget_minutes
        );
        Self { started, budget_minutes: plan.budget_minutes, index: 0, total }
    }

    /// Starts the next stage; `limit` is its own time limit in minutes, when it has one.
    pub fn begin(&mut self, what: &str, limit: Option<f64>) {
        self.index += 1;
        let elapsed = self.started.elapsed().as_secs_f64();
        let left = (self.budget_minutes * 60.0 - elapsed).max(0.0);
        let limit = limit.map_or(String::new(), |m| format!(", up to {}", clock(m * 60.0)));
        eprintln!(
            "[{}/{}] {what}{limit} — {} elapsed, {} left of the budget",
            self.index.min(self.total),
            self.total,
            clock(elapsed),
            clock(left)
        );
    }

    /// A result line under the current stage.
    pub fn note(&self, line: &str) {
        eprintln!("      {line}");
    }

    /// The closing line.
    pub fn finish(&self, out: &Path) {
        eprintln!(
            "done in {}: {} and {}",
            clock(self.started.elapsed().as_secs_f64()),
            out.join("report.md").display(),
            out.join("results.json").display()
        );
    }
}

/// `1m05s`.
pub fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// The current UTC date and time, `YYYY-MM-DD HH:MM UTC`, from the system clock (no time-zone database needed).
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", rem / 3600, rem % 3600 / 60)
}

/// Howard Hinnant's days-to-civil conversion (proleptic Gregorian calendar).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_clocks() {
        // date -u -d @0 / @951782400 (2000-02-29) / @1796083200 (2026-12-01)
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(951_782_400 / 86_400), (2000, 2, 29));
        assert_eq!(civil_from_days(1_796_083_200 / 86_400), (2026, 12, 1));
        assert_eq!(clock(65.2), "1m05s");
        assert_eq!(clock(3720.0), "1h02m");
    }
}
