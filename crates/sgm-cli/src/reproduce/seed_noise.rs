//! Whether the ranking of the losses is beyond seed noise: each run's Table 2 score over its seeds (the run and
//! its replicas), and Welch's t-test between losses that are neighbours in the ranking.

use super::report::table2_scores;
use super::results::Results;
use std::fmt::Write as _;

/// Two-sided 95% quantiles of Student's t for 1..=30 degrees of freedom (`scipy.stats.t.ppf(0.975, df)`).
const T975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
    2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
];

fn t975(df: f64) -> f64 {
    if !df.is_finite() || df > 30.0 {
        return 1.96;
    }
    T975[(df.floor().max(1.0) as usize).min(30) - 1]
}

/// A run's Table 2 scores over its seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedScores {
    /// The run (`LOSS-BACKBONE`).
    pub run: String,
    /// How it is scored: `argmax` or `kNN`.
    pub how: &'static str,
    /// One score per seed, the primary run's first.
    pub scores: Vec<f64>,
}

impl SeedScores {
    /// Mean and sample standard deviation.
    pub fn mean_sd(&self) -> (f64, f64) {
        let n = self.scores.len() as f64;
        let mean = self.scores.iter().sum::<f64>() / n;
        let var = if self.scores.len() > 1 {
            self.scores.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
        } else {
            f64::NAN
        };
        (mean, var.sqrt())
    }
}

/// Every run's scores over its seeds, best mean first.
pub fn seed_scores(res: &Results) -> Vec<SeedScores> {
    let mut out: Vec<SeedScores> = res
        .runs
        .iter()
        .map(|r| {
            let (primary, how) = table2_scores(r);
            let mut scores = vec![primary.accuracy];
            for rep in res.replicas.iter().filter(|p| p.of == r.name) {
                scores.push(if r.argmax.is_some() {
                    rep.argmax_accuracy.unwrap_or(f64::NAN)
                } else {
                    rep.knn_accuracy
                });
            }
            SeedScores { run: r.name.clone(), how, scores }
        })
        .collect();
    out.sort_by(|a, b| b.mean_sd().0.total_cmp(&a.mean_sd().0));
    out
}

/// Welch's test of `a` against `b`: (difference of means, t, the 95% critical value), or `None` with fewer than
/// two seeds on a side or no spread at all.
pub fn welch(a: &SeedScores, b: &SeedScores) -> Option<(f64, f64, f64)> {
    let (na, nb) = (a.scores.len() as f64, b.scores.len() as f64);
    if na < 2.0 || nb < 2.0 {
        return None;
    }
    let ((ma, sa), (mb, sb)) = (a.mean_sd(), b.mean_sd());
    let (va, vb) = (sa * sa / na, sb * sb / nb);
    if va + vb <= 0.0 {
        return None;
    }
    let t = (ma - mb) / (va + vb).sqrt();
    let df = (va + vb).powi(2) / (va * va / (na - 1.0) + vb * vb / (nb - 1.0));
    Some((ma - mb, t, t975(df)))
}

/// The report section.
pub fn section(w: &mut String, res: &Results) -> std::fmt::Result {
    let runs = seed_scores(res);
    writeln!(w, "## Seed noise: is the ranking of the losses real?\n")?;
    if runs.iter().all(|r| r.scores.len() < 2) {
        writeln!(
            w,
            "Every run was trained with one seed, so the seed noise of this ranking is not measured (`--seeds 3` \
             trains each run with 3 seeds).\n"
        )?;
        return Ok(());
    }
    writeln!(w, "| run | scored by | test accuracy per seed (%) | mean ± sd (%) |\n|---|---|---|---|")?;
    for r in &runs {
        let (m, sd) = r.mean_sd();
        let per: Vec<String> = r.scores.iter().map(|v| format!("{:.1}", 100.0 * v)).collect();
        writeln!(w, "| {} | {} | {} | {:.1} ± {:.1} |", r.run, r.how, per.join(", "), 100.0 * m, 100.0 * sd)?;
    }
    writeln!(w)?;
    for pair in runs.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        match welch(a, b) {
            Some((d, t, crit)) => {
                let verdict = if t.abs() > crit { "beyond seed noise" } else { "within seed noise" };
                writeln!(
                    w,
                    "- {} over {}: +{:.1} points, Welch's t = {:.2} against a 95% critical value of {:.2}: **{verdict}**.",
                    a.run,
                    b.run,
                    100.0 * d,
                    t,
                    crit
                )?;
            }
            None => {
                writeln!(w, "- {} over {}: not testable (fewer than two seeds, or no spread).", a.run, b.run)?;
            }
        }
    }
    writeln!(
        w,
        "\nEach run is scored as in Table 2 (argmax for the CNN, kNN for the metric losses); its first seed is the \
         run evaluated in full above, the others are `runs/*-seedN`.\n"
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[f64]) -> SeedScores {
        SeedScores { run: "r".into(), how: "kNN", scores: v.to_vec() }
    }

    #[test]
    fn welch_matches_scipy() {
        // scipy.stats.ttest_ind([0.80, 0.82, 0.81], [0.70, 0.74, 0.72], equal_var=False): statistic 6.971370023173349, df 2.94
        let (d, t, crit) = welch(&s(&[0.80, 0.82, 0.81]), &s(&[0.70, 0.74, 0.72])).unwrap();
        assert!((d - 0.09).abs() < 1e-12);
        assert!((t - 6.971370023173349).abs() < 1e-9, "{t}");
        // Welch–Satterthwaite df = 2.94…: the table's value for 2 degrees of freedom.
        assert_eq!(crit, 4.303);
        assert!(welch(&s(&[0.8]), &s(&[0.7, 0.71])).is_none());
        assert!(welch(&s(&[0.8, 0.8]), &s(&[0.7, 0.7])).is_none());
    }
}
