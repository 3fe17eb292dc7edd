//! `report.md`: every measured number next to the paper's, the settings, and the departures from the protocol.

use super::paper::PaperNumbers;
use super::plan::Plan;
use super::progress::clock;
use super::results::{Results, RunResult, Scores, Settings};
use std::fmt::{self, Write as _};

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
/// What every section reads.
#[derive(Clone, Copy)]
struct Context<'a> {
    res: &'a Results,
    plan: &'a Plan,
    paper: &'a PaperNumbers,
    s: &'a Settings,
}

/// Renders the report, section by section.
pub fn render(res: &Results, plan: &Plan) -> String {
    let c = Context { res, plan, paper: PaperNumbers::get(), s: &res.settings };
    let mut md = String::new();
    let sections: [fn(&mut String, &Context<'_>) -> fmt::Result; 12] =
        [title, settings, training, table2, table1, figure3, figure5, figure2, figure7, figure8, confusion, departures];
    for section in sections {
        // Writing into a String cannot fail.
        let _ = section(&mut md, &c);
    }
    md
}

/// The title, the run and, for the synthetic set, what its numbers can and cannot say.
fn title(w: &mut String, c: &Context<'_>) -> fmt::Result {
    let Context { s, .. } = *c;
    writeln!(w, "# Reproduction report: Deep Metric Structured Learning for Facial Expression Recognition\n")?;
    writeln!(
        w,
        "Written by `sgm reproduce` (sgm {}) on {}, profile **{}**, in {} of wall time (budget {:.1} min).\n",
        s.version,
        s.date,
        s.profile,
        clock(s.wall_seconds),
        s.budget_minutes
    )?;
    if s.data == crate::args::SYNTH {
        writeln!(
            w,
            "> This run uses sgm's built-in **synthetic** faces, not FER+. The paper's columns are its FER+ numbers, \
             shown for orientation only: the differences say nothing about the method. What this run checks is \
             that the whole protocol runs end to end on a fresh machine; a few epochs on 2 cores do not settle the \
             ranking of the losses (the training table says how far each run got). Run \
             `cargo xtask reproduce --data ferplus --root DIR` for numbers comparable to the paper's.\n"
        )?;
    }
    Ok(())
}

/// The settings table.
fn settings(w: &mut String, c: &Context<'_>) -> fmt::Result {
    let Context { s, .. } = *c;
    writeln!(w, "## Settings\n\n| setting | value |\n|---|---|")?;
    writeln!(w, "| data | `{}`{} |", s.data, s.root.as_ref().map_or(String::new(), |r| format!(" from `{r}`")))?;
    writeln!(w, "| images (train / valid / test) | {} / {} / {} |", s.images[0], s.images[1], s.images[2])?;
    writeln!(w, "| classes | {} |", s.class_names.join(", "))?;
    writeln!(w, "| input | {0}×{0}, grey |", s.input_size)?;
    writeln!(w, "| SGM σ | {} |", s.sigma)?;
    writeln!(w, "| labels | {} |", s.labels)?;
    writeln!(w, "| duplicates | {} |", s.dedup)?;
    writeln!(w, "| seed | {} |", s.seed)?;
    writeln!(w, "| device | {} |", s.device)?;
    writeln!(w, "| kNN | K = 11, Euclidean, fitted on the whole training split |")?;
    writeln!(w, "| clustering | k-means, k = classes, one random sample per class as initial centres, tol 1e-3 |\n")?;
    Ok(())
}

/// How far each run trained.
fn training(w: &mut String, c: &Context<'_>) -> fmt::Result {
    let Context { res, .. } = *c;
    writeln!(w, "## Training\n")?;
    writeln!(w, "| run | epochs done / planned | best epoch | best validation score | images/s | training time |")?;
    writeln!(w, "|---|---|---|---|---|---|")?;
    for r in &res.runs {
        let t = &r.training;
        writeln!(
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
        )?;
    }
    writeln!(
        w,
        "\nThe validation score selects the evaluated checkpoint: top-1 accuracy for the CNN, kNN accuracy (fitted on \
         a training subset) for the metric losses. A run stopped by the budget continues when the same command is \
         run again.\n"
    )?;
    Ok(())
}

/// Table 2: classification on the test split, next to the paper's.
fn table2(w: &mut String, c: &Context<'_>) -> fmt::Result {
    let Context { res, paper, .. } = *c;
    writeln!(w, "## Table 2: classification on the test split (%)\n")?;
    writeln!(
        w,
        "| method | backbone | scored by | Acc | paper | Δ | Prec | paper | Δ | Rec | paper | Δ | F1 | paper | Δ |"
    )?;
    writeln!(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")?;
    for r in &res.runs {
        let (sc, how) = table2_scores(r);
        let p = paper.table2(&r.method, &r.backbone);
        writeln!(
            w,
            "| {} | {} | {how} | {} | {} | {} | {} |",
            method_name(&r.method),
            r.backbone,
            vs(sc.accuracy, p.map(|p| p.acc)),
            vs(sc.precision, p.map(|p| p.prec)),
            vs(sc.recall, p.map(|p| p.rec)),
            vs(sc.f1, p.map(|p| p.f1)),
        )?;
    }
    writeln!(
        w,
        "\nF1 is the paper's 2PR/(P+R) of macro precision P and macro recall R; Δ is measured − paper in percentage \
         points."
    )?;
    for r in res.runs.iter().filter(|r| r.argmax.is_some()) {
        writeln!(
            w,
            "The CNN's embedding scored by kNN instead: accuracy {}, F1 {}.",
            pct(r.knn.accuracy),
            pct(r.knn.f1)
        )?;
        if let Some(p) = &r.argmax_prior {
            writeln!(
                w,
                "The CNN's argmax corrected for the training prior (logits + log π_train; the class-balanced sampler \
                 trains for equal priors): accuracy {}, F1 {}.",
                pct(p.accuracy),
                pct(p.f1)
            )?;
        }
    }
    writeln!(w)?;
    super::seed_noise::section(w, res)?;
    Ok(())
}

/// Table 1: k-means clustering NMI, next to the paper's.
fn table1(w: &mut String, c: &Context<'_>) -> fmt::Result {
    let Context { res, paper, s, .. } = *c;
    writeln!(w, "## Table 1: k-means clustering NMI × 100\n")?;
    let mut cross: Vec<&String> = res.runs.iter().flat_map(|r| r.cross_nmi.keys()).collect();
    cross.sort();
    cross.dedup();
    let in_domain = if s.data == crate::args::SYNTH { "synthetic test" } else { "FER+ test" };
    let mut head = format!("| method | backbone | {in_domain} | paper | Δ |");
    let mut rule = String::from("|---|---|---|---|---|");
    for c in &cross {
        write!(head, " {c} | paper | Δ |")?;
        rule += "---|---|---|";
    }
    writeln!(w, "{head}\n{rule}")?;
    for r in &res.runs {
        let p = paper.table1(&r.method, &r.backbone);
        let mut line = format!("| {} | {} | {} |", method_name(&r.method), r.backbone, vs(r.nmi, p.map(|p| p.ferplus)));
        for c in &cross {
            let v = r.cross_nmi.get(*c).copied().unwrap_or(f64::NAN);
            write!(line, " {} |", vs(v, p.and_then(|p| p.value(c))))?;
        }
        writeln!(w, "{line}")?;
    }
    writeln!(
        w,
        "\nThe paper's Table 1 has no CNN rows. That it reports NMI × 100 is inferred from its magnitudes.{}\n",
        if cross.is_empty() {
            " The cross-domain columns (AffectNet, JAFFE, CK+, BU-3DFE) need `--cross NAME=DIR`."
        } else {
            ""
        }
    )?;
    Ok(())
}

/// Figure 3: retrieval Recall@K and Acc@K.
fn figure3(w: &mut String, c: &Context<'_>) -> fmt::Result {
    let Context { res, plan, .. } = *c;
    writeln!(w, "## Figure 3: retrieval on the test split (%)\n")?;
    let ks = &plan.recall_ks;
    let mut head = String::from("| run |");
    let mut rule = String::from("|---|");
    for k in ks {
        write!(head, " R@{k} |")?;
        rule += "---|";
    }
    for k in ks {
        write!(head, " A@{k} |")?;
        rule += "---|";
    }
    writeln!(w, "{head}\n{rule}")?;
    for r in &res.runs {
        let mut line = format!("| {} |", r.name);
        for k in ks {
            write!(line, " {} |", pct(r.recall_at_k.get(k).copied().unwrap_or(f64::NAN)))?;
        }
        for k in ks {
            write!(line, " {} |", pct(r.acc_at_k.get(k).copied().unwrap_or(f64::NAN)))?;
        }
        writeln!(w, "{line}")?;
    }
    writeln!(
        w,
        "\nRecall@K: queries with at least one same-class item among their K nearest neighbours (the query itself \
         and its duplicates excluded); Acc@K: the mean share of same-class items among the K."
    )?;
    figure(w, res, "recall_at_k.png", "Recall@K and Acc@K")?;
    Ok(())
}

/// Figure 5: kNN F1 against K on the validation split.
fn figure5(w: &mut String, c: &Context<'_>) -> fmt::Result {
    let Context { res, paper, .. } = *c;
    writeln!(w, "## Figure 5: kNN F1 against K on the validation split (%)\n")?;
    let kk: Vec<usize> = res.runs.first().map(|r| r.f1_by_k.keys().copied().collect()).unwrap_or_default();
    let mut head = String::from("| run |");
    let mut rule = String::from("|---|");
    for k in &kk {
        write!(head, " K={k} |")?;
        rule += "---|";
    }
    writeln!(w, "{head} best K |\n{rule}---|")?;
    for r in &res.runs {
        let mut line = format!("| {} |", r.name);
        for k in &kk {
            write!(line, " {} |", pct(r.f1_by_k.get(k).copied().unwrap_or(f64::NAN)))?;
        }
        let best = r.f1_by_k.iter().fold(None, |b: Option<(usize, f64)>, (&k, &v)| match b {
            Some((_, bv)) if bv >= v => b,
            _ => Some((k, v)),
        });
        writeln!(w, "{line} {} |", best.map_or("—".into(), |b| b.0.to_string()))?;
    }
    writeln!(w, "\nThe paper's F1 on FER+ validation peaks at K = {}.", paper.best_k)?;
    figure(w, res, "f1_by_k.png", "kNN F1 against K")?;
    Ok(())
}

/// Figure 2: the t-SNE maps.
fn figure2(w: &mut String, c: &Context<'_>) -> fmt::Result {
    let Context { res, plan, .. } = *c;
    writeln!(w, "## Figure 2: t-SNE of the test embeddings\n")?;
    writeln!(
        w,
        "Perplexity 30 (lower when there are fewer than 93 points), PCA initialisation, the first {} test points; \
         coordinates in `tsne-RUN.csv`.\n",
        plan.tsne_points
    )?;
    for r in &res.runs {
        figure(w, res, &format!("tsne-{}.png", r.name), &format!("t-SNE, {}", r.name))?;
    }
    Ok(())
}

/// Figure 7: Algorithm 2's sub-classes.
fn figure7(w: &mut String, c: &Context<'_>) -> fmt::Result {
    let Context { res, .. } = *c;
    if let Some(sc) = &res.subclasses {
        writeln!(w, "## Figure 7: Deep Gaussian Mixture Sub-space (Algorithm 2)\n")?;
        writeln!(
            w,
            "From `{}`: sub-classes per level {:?} ({} s). Outputs per level in `{}/level-N/` (assignment.csv, \
             sizes.csv, model.safetensors).\n",
            sc.from_run,
            sc.subclasses_per_level,
            sc.seconds.round(),
            sc.dir
        )?;
        if let Some(d) = sc.nmi_discovered {
            let f = |v: Option<f64>| v.map_or("—".into(), |v| format!("{v:.4}"));
            writeln!(w, "Within-class NMI against the true sub-classes (weighted by class size):\n")?;
            writeln!(
                w,
                "| discovered split | final embedding, re-clustered | plain SGM embedding | untrained network |"
            )?;
            writeln!(w, "|---|---|---|---|")?;
            writeln!(
                w,
                "| {d:.4} | {} | {} | {} |\n",
                f(sc.nmi_final_embedding),
                f(sc.nmi_plain_sgm),
                f(sc.nmi_untrained)
            )?;
            writeln!(
                w,
                "The last three cluster each class of their embedding into as many sub-classes as were discovered. \
                 The paper has no ground truth for sub-classes; it shows them as pictures.\n"
            )?;
        }
        figure(w, res, "tsne-subclasses.png", "t-SNE of the training embedding, coloured by discovered sub-class")?;
    }
    Ok(())
}

/// Figure 8: EM groups with their medoids.
fn figure8(w: &mut String, c: &Context<'_>) -> fmt::Result {
    let Context { res, .. } = *c;
    if let Some(g) = &res.groups {
        writeln!(w, "## Figure 8: EM groups, medoids and their nearest members\n")?;
        writeln!(
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
        )?;
        for (i, line) in g.shown.iter().enumerate() {
            writeln!(w, "{}. {line}", i + 1)?;
        }
        writeln!(w)?;
        figure(w, res, "groups.png", "EM groups")?;
    }
    Ok(())
}

/// The confusion matrices.
fn confusion(w: &mut String, c: &Context<'_>) -> fmt::Result {
    let Context { res, s, .. } = *c;
    let with_confusion: Vec<&RunResult> = res.runs.iter().filter(|r| !r.confusion.is_empty()).collect();
    if !with_confusion.is_empty() {
        writeln!(w, "## Confusion matrices (rows: true class, columns: predicted)\n")?;
        for r in with_confusion {
            let (_, how) = table2_scores(r);
            writeln!(w, "**{}** ({how}):\n", r.name)?;
            let names = &s.class_names;
            let mut head = String::from("| |");
            let mut rule = String::from("|---|");
            for n in names.iter().take(r.confusion.len()) {
                write!(head, " {n} |")?;
                rule += "---|";
            }
            writeln!(w, "{head}\n{rule}")?;
            for (i, row) in r.confusion.iter().enumerate() {
                let name = names.get(i).cloned().unwrap_or_else(|| i.to_string());
                let cells: Vec<String> = row.iter().map(|v| v.to_string()).collect();
                writeln!(w, "| {name} | {} |", cells.join(" | "))?;
            }
            writeln!(w)?;
            figure(w, res, &format!("confusion-{}.png", r.name), &format!("confusion matrix, {}", r.name))?;
        }
    }
    Ok(())
}

/// Where the run departs from the paper's protocol, and the files written.
fn departures(w: &mut String, c: &Context<'_>) -> fmt::Result {
    let Context { res, s, .. } = *c;
    writeln!(w, "## Where this run differs from the paper's protocol\n")?;
    for d in &s.deviations {
        writeln!(w, "- {d}")?;
    }
    writeln!(w, "\n## Files\n")?;
    writeln!(
        w,
        "`results.json` holds every number above; `runs/RUN/` are resumable `sgm train` run directories (config.toml, \
         metrics.jsonl, best.safetensors, eval.json); `groups/` is what `sgm cluster` writes.{}",
        if res.figures.is_empty() { String::new() } else { format!(" Figures and data: {}.", res.figures.join(", ")) }
    )?;
    Ok(())
}

/// Appends an image link when the figure was written.
fn figure(w: &mut String, res: &Results, file: &str, alt: &str) -> fmt::Result {
    if res.figures.iter().any(|f| f == file) {
        writeln!(w, "![{alt}]({file})\n")?;
    }
    Ok(())
}
