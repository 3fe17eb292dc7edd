//! Composes an album of test photos from a folder of face crops and measures the face detector on it: recall
//! (IoU ≥ 0.5 with the pasted face), false positives (on the photos and on empty canvases), and photos per
//! second (all cores, rayon; decoding included).
//!
//! ```text
//! cargo run --release -p sgm-data --example face_album -- FACES_DIR [OUT_DIR] [PHOTOS] [SEED]
//! cargo run --release -p sgm-data --example face_album -- $SGM_DATA_DIR/ferplus/data/FER2013Test /tmp/album
//! ```
//!
//! FACES_DIR: a folder of face crops (e.g. FER2013Test; the first faces by file name are used). OUT_DIR, when
//! given, receives the photos as JPEG (several sizes, 1–4 faces each) and `truth.csv` with the pasted boxes, an
//! album for `sgm summarize --album OUT_DIR`. Do not commit photos made from third-party faces.

use std::path::PathBuf;
use std::time::Instant;

use sgm_data::faces::compose::{compose_album, match_boxes, textured_canvas, AlbumSpec, Matching};
use sgm_data::faces::{detect_image, detect_photos, photo_files, DetectorConfig, FaceDetector};
use sgm_data::image_io::decode_luma;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(faces_dir) = args.first().map(PathBuf::from) else {
        eprintln!("usage: face_album FACES_DIR [OUT_DIR] [PHOTOS] [SEED]");
        std::process::exit(2);
    };
    let out = args.get(1).filter(|s| !s.is_empty() && *s != "-").map(PathBuf::from);
    let photos: usize = args.get(2).map_or(Ok(40), |s| s.parse())?;
    let seed: u64 = args.get(3).map_or(Ok(1), |s| s.parse())?;

    let mut names = photo_files(&faces_dir)?;
    names.retain(|p| !p.ends_with("fer0033120.png")); // FER2013's warning icon, not a face
    names.truncate(photos * 4);
    let faces = names.iter().map(|p| decode_luma(p)).collect::<Result<Vec<_>, _>>()?;
    let cfg = DetectorConfig::default();

    // Recall and false positives at 640 × 480, 1 to 4 faces per photo.
    let spec = AlbumSpec { photos, faces_per_photo: (1, 4), sizes: vec![(640, 480)], face_fraction: (0.2, 0.3), seed };
    let album = compose_album(&faces, &spec)?;
    let mut detector = FaceDetector::new(&cfg)?;
    let (mut raw, mut framed) = (Matching::default(), Matching::default());
    let mut on_background = 0;
    for p in &album {
        let found = detect_image(&mut detector, &p.image, std::path::Path::new("composed"));
        on_background += found.iter().filter(|d| p.faces.iter().all(|t| t.iou(&d.crop_box) < 0.1)).count();
        raw += match_boxes(&p.faces, &found.iter().map(|d| d.bbox).collect::<Vec<_>>(), 0.5);
        framed += match_boxes(&p.faces, &found.iter().map(|d| d.crop_box).collect::<Vec<_>>(), 0.5);
    }
    let empty: usize = (0..photos as u64)
        .map(|i| detect_image(&mut detector, &textured_canvas(640, 480, 10_000 + i), std::path::Path::new("c")).len())
        .sum();
    let (lo, hi) = (480.0 * spec.face_fraction.0, 480.0 * spec.face_fraction.1);
    println!("{} photos 640x480, {} faces pasted ({lo:.0} to {hi:.0} px)", album.len(), raw.hits + raw.misses);
    println!(
        "crop box (margin {}): recall {:.3} ({}/{}), false positives {}",
        cfg.margin,
        framed.recall(),
        framed.hits,
        framed.hits + framed.misses,
        framed.false_positives
    );
    println!(
        "detector box: recall {:.3}, false positives {} (IoU with the pasted square)",
        raw.recall(),
        raw.false_positives
    );
    println!("detections on the background (IoU < 0.1 with every pasted face): {on_background}");
    println!("empty canvases: {empty} false positives on {photos}");

    // Throughput: the album as JPEG files, decoded and searched in parallel.
    let dir = match &out {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("sgm-face-album-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)?;
    let mut paths = Vec::new();
    for (i, p) in album.iter().enumerate() {
        let path = dir.join(format!("photo-{i:03}.jpg"));
        p.image.save(&path)?;
        paths.push(path);
    }
    let t = Instant::now();
    let report = detect_photos(&paths, &cfg, false)?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "throughput: {:.1} photos/s ({} photos in {secs:.2} s, {} rayon threads, {} faces)",
        paths.len() as f64 / secs,
        paths.len(),
        rayon::current_num_threads(),
        report.num_faces()
    );

    match out {
        Some(d) => {
            // A mixed-size album for `sgm summarize`: replace the 640 × 480 photos.
            for p in &paths {
                std::fs::remove_file(p)?;
            }
            let sizes = vec![(640, 480), (1024, 768), (480, 640), (800, 600), (1600, 1200)];
            let spec = AlbumSpec { photos, faces_per_photo: (1, 4), sizes, face_fraction: (0.2, 0.3), seed };
            let mut truth = String::from("file,x,y,width,height\n");
            for (i, p) in compose_album(&faces, &spec)?.iter().enumerate() {
                let name = format!("photo-{i:03}.jpg");
                p.image.save(d.join(&name))?;
                for b in &p.faces {
                    truth += &format!("{name},{},{},{},{}\n", b.x, b.y, b.width, b.height);
                }
            }
            std::fs::write(d.join("truth.csv"), truth)?;
            println!("album written to {}", d.display());
        }
        None => std::fs::remove_dir_all(&dir)?,
    }
    Ok(())
}
