//! Writes one of each plot, from formula data, to a folder: `cargo run -p sgm-plot --example showcase -- DIR`.

use sgm_plot::*;
use std::path::PathBuf;

fn main() -> Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "plots".into()));
    std::fs::create_dir_all(&dir).map_err(|source| PlotError::Io { path: dir.clone(), source })?;
    let names: Vec<String> = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let n = 800;
    let points: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            let c = (i % 8) as f64;
            let s = ((i / 8) % 3) as f64;
            let a = c * std::f64::consts::TAU / 8.0;
            (10.0 * a.cos() + s * 1.5 + (i as f64 * 1.7).sin(), 10.0 * a.sin() + s + (i as f64 * 0.9).cos())
        })
        .collect();
    let classes: Vec<u32> = (0..n).map(|i| (i % 8) as u32).collect();
    let subs: Vec<u32> = (0..n).map(|i| ((i / 8) % 3) as u32).collect();
    let sc = Scatter::new(points, classes, names.clone());
    scatter(&Figure::new("t-SNE of the test embeddings"), &sc, &dir.join("scatter.png"))?;
    scatter(&Figure::new("t-SNE by sub-class"), &sc.with_subclasses(subs), &dir.join("scatter-sub.png"))?;
    let ks = vec![1, 2, 4, 8];
    let curves = [
        RetrievalCurve {
            name: "SGM".into(),
            ks: ks.clone(),
            recall: vec![0.81, 0.88, 0.92, 0.95],
            acc: vec![0.81, 0.79, 0.78, 0.76],
        },
        RetrievalCurve {
            name: "triplet".into(),
            ks,
            recall: vec![0.78, 0.85, 0.9, 0.94],
            acc: vec![0.78, 0.76, 0.74, 0.72],
        },
    ];
    retrieval_curves(&Figure::new("Recall@K and Acc@K"), &curves, &dir.join("retrieval.png"))?;
    let k: Vec<f64> = (1..=21).step_by(2).map(f64::from).collect();
    let f1: Vec<f64> = k.iter().map(|k| 0.7 + 0.05 * (-(k - 11.0f64).powi(2) / 40.0).exp()).collect();
    f1_vs_k(&Figure::new("kNN F1 against K"), &[Series::from_xy("SGM", &k, &f1)], &dir.join("f1.png"))?;
    let m: Vec<Vec<usize>> =
        (0..8).map(|i| (0..8).map(|j| if i == j { 80 + 7 * i } else { (i * 3 + j * 5) % 11 }).collect()).collect();
    confusion_matrix(&Figure::new("kNN confusion on the test set"), &m, &names, &dir.join("confusion.png"))?;
    let epochs: Vec<f64> = (1..=30).map(f64::from).collect();
    let loss: Vec<f64> = epochs.iter().map(|e| 2.0 * (-e / 8.0).exp() + 0.3).collect();
    let acc: Vec<f64> = epochs.iter().map(|e| 0.85 - 0.5 * (-e / 6.0).exp()).collect();
    let tc = TrainingCurves {
        epochs: epochs.clone(),
        loss,
        metrics: vec![
            Series::from_xy("val kNN accuracy", &epochs, &acc),
            Series::from_xy("val kNN F1", &epochs, &acc.iter().map(|a| a - 0.1).collect::<Vec<_>>()),
        ],
    };
    training_curves(&Figure::new("runs/demo"), &tc, &dir.join("training.png"))?;
    let tiles: Vec<Tile> = (0..6)
        .map(|k| Tile {
            pixels: (0..48 * 48).map(|p| ((p % 48) * 5 + k * 20) as u8).collect(),
            width: 48,
            height: 48,
            caption: vec![format!("#{k} happiness"), format!("d = {:.3}", k as f64 * 0.31)],
            highlight: k == 0,
        })
        .collect();
    gallery(
        &Gallery { title: "query and its 5 nearest".into(), tiles, columns: 6, tile_size: 112 },
        &dir.join("gallery.png"),
    )?;
    println!("plots written to {}", dir.display());
    Ok(())
}
