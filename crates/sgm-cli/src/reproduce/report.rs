//! `report.md`: every measured number next to the paper's, the settings, and the departures from the protocol.

use super::paper::PaperNumbers;
use super::plan::Plan;
use super::progress::clock;
use super::results::{Results, RunResult, Scores};
use std::fmt::Write as _;

/// A fraction as the paper prints it (percent, three decimals).
fn pct(v: f64) -> String {
    if v.is_finite() {
        format!("{:.3}", v * 100.0)
    } else {
        "—".into()
    }
}

/// Measured (fraction) against published (percent): `measured | paper | difference` cells.
fn vs(measured: f64, paper: Option<f64>) -> String {
    match paper {
        Some(p) => format!("{} | {p:.3} | {:+.3}", pct(measured), measured * 100.0 - p),
        None => format!("{} | — | —", pct(measured)),
    }
}

fn method_name(m: &str) -> &str {
    match m {
        "softmax" => "CNN (softmax)",
        "triplet" => "Triplet",
        "sgm" => "SGM",
        other => other,
    }
}

/// The Table 2 scores of a run: argmax for the CNN, kNN for the metric losses (as the paper).
pub fn table2_scores(r: &RunResult) -> (Scores, &'static str) {
    match r.argmax {
        Some(s) => (s, "argmax"),
        None => (r.knn, "kNN"),
    }
}

/// Renders the report.
pub fn render(res: &Results, plan: &Plan) -> String {
    let paper = PaperNumbers::get();
    let s = &res.settings;
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(w, "# Reproduction report: Deep Metric Structured Learning for Facial Expression Recognition\n");
    let _ = writeln!(
        w,
        "Written by `sgm reproduce` (sgm {}) on {}, profile **{}**, in {} of wall time (budget {:.1} min).\n",
        s.version,
        s.date,
        s.profile,
        clock(s.wall_seconds),
        s.budget_minutes
    );
    if s.data == crate::commands::dataset::SYNTH {
        let _ = writeln!(
            w,
            "> This run uses sgm's built-in **synthetic** faces, not FER+. The paper's columns are its FER+ numbers, \
             shown for orientation only: the differences say nothing about the method. What this run checks is \
             that the whole protocol runs end to end on a fresh machine; a few epochs on 2 cores do not settle the \
             ranking of the losses (the training table says how far each run got). Run \
             `cargo xtask reproduce --data ferplus --root DIR` for numbers comparable to the paper's.\n"
        );
    }

    let _ = writeln!(w, "## Settings\n\n| setting | value |\n|---|---|");
    let _ = writeln!(w, "| data | `{}`{} |", s.data, s.root.as_ref().map_or(String::new(), |r| format!(" from `{r}`")));
    let _ = writeln!(w, "| images (train / valid / test) | {} / {} / {} |", s.images[0], s.images[1], s.images[2]);
    let _ = writeln!(w, "| classes | {} |", s.class_names.join(", "));
    let _ = writeln!(w, "| input | {0}×{0}, grey |", s.input_size);
    let _ = writeln!(w, "| SGM σ | {} |", s.sigma);
    let _ = writeln!(w, "| labels | {} |", s.labels);
    let _ = writeln!(w, "| duplicates | {} |", s.dedup);
    let _ = writeln!(w, "| seed | {} |", s.seed);
    let _ = writeln!(w, "| device | {} |", s.device);
    let _ = writeln!(w, "| kNN | K = 11, Euclidean, fitted on the whole training split |");
    let _ = writeln!(
        w,
        "| clustering | k-means, k = classes, one random sample per class as initial centres, tol 1e-3 |\n"
    );

    let _ = writeln!(w, "## Training\n");
    let _ =
        writeln!(w, "| run | epochs done / planned | best epoch | best validation score | images/s | training time |");
    let _ = writeln!(w, "|---|---|---|---|---|---|");
    for r in &res.runs {
        let t = &r.training;
        let _ = writeln!(
            w,
            "| {} | {} / {}{} | {} | {} | {:.0} | {} |",
            r.name,
            t.epochs_done,
            t.epochs_planned,
            if t.stopped_by_budget { " (budget)" } else { "" },
            t.best_epoch.map_or("—".into(), |e| e.to_string()),
            t.best_validation.map_or("—".into(), |v| format!("{v:.4}")),
            t.images_per_second,
            clock(t.train_seconds)
        );
    }
    let _ = writeln!(
        w,
        "\nThe validation score selects the evaluated checkpoint: top-1 accuracy for the CNN, kNN accuracy (fitted on \
         a training subset) for the metric losses. A run stopped by the budget continues when the same command is \
         run again.\n"
    );

    let _ = writeln!(w, "## Table 2: classification on the test split (%)\n");
    let _ = writeln!(
        w,
        "| method | backbone | scored by | Acc | paper | Δ | Prec | paper | Δ | Rec | paper | Δ | F1 | paper | Δ |"
    );
    let _ = writeln!(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &res.runs {
        let (sc, how) = table2_scores(r);
        let p = paper.table2(&r.method, &r.backbone);
        let _ = writeln!(
            w,
            "| {} | {} | {how} | {} | {} | {} | {} |",
            method_name(&r.method),
            r.backbone,
            vs(sc.accuracy, p.map(|p| p.acc)),
            vs(sc.precision, p.map(|p| p.prec)),
            vs(sc.recall, p.map(|p| p.rec)),
            vs(sc.f1, p.map(|p| p.f1)),
        );
    }
    let _ = writeln!(
        w,
        "\nF1 is the paper's 2PR/(P+R) of macro precision P and macro recall R; Δ is measured − paper in percentage \
         points."
    );
    for r in res.runs.iter().filter(|r| r.argmax.is_some()) {
        let _ = writeln!(
            w,
            "The CNN's embedding scored by kNN instead: accuracy {}, F1 {}.",
            pct(r.knn.accuracy),
            pct(r.knn.f1)
        );
        if let Some(p) = &r.argmax_prior {
            let _ = writeln!(
                w,
                "The CNN's argmax corrected for the training prior (logits + log π_train; the class-balanced sampler \
                 trains for equal priors): accuracy {}, F1 {}.",
                pct(p.accuracy),
                pct(p.f1)
            );
        }
    }
    let _ = writeln!(w);
    super::seed_noise::section(w, res);

    let mut cross: Vec<&String> = res.runs.iter().flat_map(|r| r.cross_nmi.keys()).collect();
    cross.sort();
    cross.dedup();
    let _ = writeln!(w, "## Table 1: k-means clustering NMI × 100\n");
    let in_domain = if s.data == crate::commands::dataset::SYNTH { "synthetic test" } else { "FER+ test" };
    let mut head = format!("| method | backbone | {in_domain} | paper | Δ |");
    let mut rule = String::from("|---|---|---|---|---|");
    for c in &cross {
        let _ = write!(head, " {c} | paper | Δ |");
        rule += "---|---|---|";
    }
    let _ = writeln!(w, "{head}\n{rule}");
    for r in &res.runs {
        let p = paper.table1(&r.method, &r.backbone);
        let mut line = format!("| {} | {} | {} |", method_name(&r.method), r.backbone, vs(r.nmi, p.map(|p| p.ferplus)));
        for c in &cross {
            let v = r.cross_nmi.get(*c).copied().unwrap_or(f64::NAN);
            let _ = write!(line, " {} |", vs(v, p.and_then(|p| p.value(c))));
        }
        let _ = writeln!(w, "{line}");
    }
    let _ = writeln!(
        w,
        "\nThe paper's Table 1 has no CNN rows. That it reports NMI × 100 is inferred from its magnitudes.{}\n",
        if cross.is_empty() {
            " The cross-domain columns (AffectNet, JAFFE, CK+, BU-3DFE) need `--cross NAME=DIR`."
        } else {
            ""
        }
    );

    let _ = writeln!(w, "## Figure 3: retrieval on the test split (%)\n");
    let ks = &plan.recall_ks;
    let mut head = String::from("| run |");
    let mut rule = String::from("|---|");
    for k in ks {
        let _ = write!(head, " R@{k} |");
        rule += "---|";
    }
    for k in ks {
        let _ = write!(head, " A@{k} |");
        rule += "---|";
    }
    let _ = writeln!(w, "{head}\n{rule}");
    for r in &res.runs {
        let mut line = format!("| {} |", r.name);
        for k in ks {
            let _ = write!(line, " {} |", pct(r.recall_at_k.get(k).copied().unwrap_or(f64::NAN)));
        }
        for k in ks {
            let _ = write!(line, " {} |", pct(r.acc_at_k.get(k).copied().unwrap_or(f64::NAN)));
        }
        let _ = writeln!(w, "{line}");
    }
    let _ = writeln!(
        w,
        "\nRecall@K: queries with at least one same-class item among their K nearest neighbours (the query itself \
         and its duplicates excluded); Acc@K: the mean share of same-class items among the K."
    );
    figure(w, res, "recall_at_k.png", "Recall@K and Acc@K");

    let _ = writeln!(w, "## Figure 5: kNN F1 against K on the validation split (%)\n");
    let kk: Vec<usize> = res.runs.first().map(|r| r.f1_by_k.keys().copied().collect()).unwrap_or_default();
    let mut head = String::from("| run |");
    let mut rule = String::from("|---|");
    for k in &kk {
        let _ = write!(head, " K={k} |");
        rule += "---|";
    }
    let _ = writeln!(w, "{head} best K |\n{rule}---|");
    for r in &res.runs {
        let mut line = format!("| {} |", r.name);
        for k in &kk {
            let _ = write!(line, " {} |", pct(r.f1_by_k.get(k).copied().unwrap_or(f64::NAN)));
        }
        let best = r.f1_by_k.iter().fold(None, |b: Option<(usize, f64)>, (&k, &v)| match b {
            Some((_, bv)) if bv >= v => b,
            _ => Some((k, v)),
        });
        let _ = writeln!(w, "{line} {} |", best.map_or("—".into(), |b| b.0.to_string()));
    }
    let _ = writeln!(w, "\nThe paper's F1 on FER+ validation peaks at K = {}.", paper.best_k);
    figure(w, res, "f1_by_k.png", "kNN F1 against K");

    let _ = writeln!(w, "## Figure 2: t-SNE of the test embeddings\n");
    let _ = writeln!(
        w,
        "Perplexity 30 (lower when there are fewer than 93 points), PCA initialisation, the first {} test points; \
         coordinates in `tsne-RUN.csv`.\n",
        plan.tsne_points
    );
    for r in &res.runs {
        figure(w, res, &format!("tsne-{}.png", r.name), &format!("t-SNE, {}", r.name));
    }

    if let Some(sc) = &res.subclasses {
        let _ = writeln!(w, "## Figure 7: Deep Gaussian Mixture Sub-space (Algorithm 2)\n");
        let _ = writeln!(
            w,
            "From `{}`: sub-classes per level {:?} ({} s). Outputs per level in `{}/level-N/` (assignment.csv, \
             sizes.csv, model.safetensors).\n",
            sc.from_run,
            sc.subclasses_per_level,
            sc.seconds.round(),
            sc.dir
        );
        if let Some(d) = sc.nmi_discovered {
            let f = |v: Option<f64>| v.map_or("—".into(), |v| format!("{v:.4}"));
            let _ = writeln!(w, "Within-class NMI against the true sub-classes (weighted by class size):\n");
            let _ = writeln!(
                w,
                "| discovered split | final embedding, re-clustered | plain SGM embedding | untrained network |"
            );
            let _ = writeln!(w, "|---|---|---|---|");
            let _ = writeln!(
                w,
                "| {d:.4} | {} | {} | {} |\n",
                f(sc.nmi_final_embedding),
                f(sc.nmi_plain_sgm),
                f(sc.nmi_untrained)
            );
            let _ = writeln!(
                w,
                "The last three cluster each class of their embedding into as many sub-classes as were discovered. \
                 The paper has no ground truth for sub-classes; it shows them as pictures.\n"
            );
        }
        figure(w, res, "tsne-subclasses.png", "t-SNE of the training embedding, coloured by discovered sub-class");
    }

    if let Some(g) = &res.groups {
        let _ = writeln!(w, "## Figure 8: EM groups, medoids and their nearest members\n");
        let _ = writeln!(
            w,
            "{} over the test embeddings of {}: {} groups asked, {} non-empty, mean purity {:.1}% (the share of a \
             group's majority class, weighted by size). Each row of the picture is one of the largest groups: the \
             medoid (framed; the member nearest the group mean) and the members nearest it. All groups are in \
             `groups/groups.json`.\n",
            g.method,
            g.model,
            g.requested,
            g.groups,
            g.mean_purity * 100.0
        );
        for (i, line) in g.shown.iter().enumerate() {
            let _ = writeln!(w, "{}. {line}", i + 1);
        }
        let _ = writeln!(w);
        figure(w, res, "groups.png", "EM groups");
    }

    let with_confusion: Vec<&RunResult> = res.runs.iter().filter(|r| !r.confusion.is_empty()).collect();
    if !with_confusion.is_empty() {
        let _ = writeln!(w, "## Confusion matrices (rows: true class, columns: predicted)\n");
        for r in with_confusion {
            let (_, how) = table2_scores(r);
            let _ = writeln!(w, "**{}** ({how}):\n", r.name);
            let names = &s.class_names;
            let mut head = String::from("| |");
            let mut rule = String::from("|---|");
            for n in names.iter().take(r.confusion.len()) {
                let _ = write!(head, " {n} |");
                rule += "---|";
            }
            let _ = writeln!(w, "{head}\n{rule}");
            for (i, row) in r.confusion.iter().enumerate() {
                let name = names.get(i).cloned().unwrap_or_else(|| i.to_string());
                let cells: Vec<String> = row.iter().map(|v| v.to_string()).collect();
                let _ = writeln!(w, "| {name} | {} |", cells.join(" | "));
            }
            let _ = writeln!(w);
            figure(w, res, &format!("confusion-{}.png", r.name), &format!("confusion matrix, {}", r.name));
        }
    }

    let _ = writeln!(w, "## Where this run differs from the paper's protocol\n");
    for d in &s.deviations {
        let _ = writeln!(w, "- {d}");
    }
    let _ = writeln!(w, "\n## Files\n");
    let _ = writeln!(
        w,
        "`results.json` holds every number above; `runs/RUN/` are resumable `sgm train` run directories (config.toml, \
         metrics.jsonl, best.safetensors, eval.json); `groups/` is what `sgm cluster` writes.{}",
        if res.figures.is_empty() { String::new() } else { format!(" Figures and data: {}.", res.figures.join(", ")) }
    );
    md
}

/// Appends an image link when the figure was written.
fn figure(w: &mut String, res: &Results, file: &str, alt: &str) {
    if res.figures.iter().any(|f| f == file) {
        let _ = writeln!(w, "![{alt}]({file})\n");
    }
}
