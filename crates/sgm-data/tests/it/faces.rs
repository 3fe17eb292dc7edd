//! `sgm_data::faces`: photos in, faces out. Without data: textured canvases hold no face, EXIF orientation is
//! applied, composed photos put faces where they say, unreadable photos are refused or skipped (named), options
//! are validated. With `SGM_DATA_DIR` (FER+ faces pasted onto canvases): the detector finds the faces (IoU ≥ 0.5)
//! and nothing on empty canvases.

use std::path::{Path, PathBuf};

use image::{GrayImage, Luma};
use sgm_data::faces::compose::{compose, compose_album, match_boxes, textured_canvas, AlbumSpec, Matching};
use sgm_data::faces::{
    best_face, decode_photo, decode_photo_bytes, detect_image, detect_photos, photo_files, DetectorConfig, FaceBox,
    FaceDetector,
};
use sgm_data::DataError;

fn ferplus_test_dir() -> PathBuf {
    crate::common::data_dir().join("ferplus/data/FER2013Test")
}

/// The first `n` FER2013Test faces by file name (without the known non-face).
fn ferplus_faces(dir: &Path, n: usize) -> Vec<GrayImage> {
    let mut files = photo_files(dir).unwrap();
    files.retain(|p| !p.ends_with("fer0033120.png"));
    files.iter().take(n).map(|p| sgm_data::image_io::decode_luma(p).unwrap()).collect()
}

#[test]
fn textured_canvases_hold_no_faces() {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (i, (w, h)) in [(640u32, 480u32), (480, 640), (1024, 768), (320, 240), (30, 20)].into_iter().enumerate() {
        let path = dir.path().join(format!("canvas-{i}.png"));
        textured_canvas(w, h, i as u64 + 1).save(&path).unwrap();
        paths.push(path);
    }
    let report = detect_photos(&paths, &DetectorConfig::default(), false).unwrap();
    assert_eq!(report.photos.len(), 5);
    assert_eq!(report.num_faces(), 0, "{:?}", report.faces().map(|d| (d.label(true), d.bbox)).collect::<Vec<_>>());
    assert_eq!(report.without_faces(), paths.iter().map(PathBuf::as_path).collect::<Vec<_>>());
    assert_eq!(report.photos[1].size, (480, 640));
    // Seeded: the same canvas twice.
    assert_eq!(textured_canvas(64, 48, 3), textured_canvas(64, 48, 3));
    assert_ne!(textured_canvas(64, 48, 3), textured_canvas(64, 48, 4));
}

/// A JPEG of `img` with an EXIF APP1 segment whose IFD0 holds Orientation = `orientation`.
fn jpeg_with_orientation(img: &GrayImage, orientation: u16) -> Vec<u8> {
    let mut jpeg = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg).unwrap();
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec(); // big-endian TIFF header, IFD0 at 8
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes());
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no IFD1
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[test]
fn exif_orientation_is_applied() {
    // 64 × 32, dark left half, bright right half.
    let img = GrayImage::from_fn(64, 32, |x, _| Luma([if x < 32 { 20 } else { 230 }]));
    let path = Path::new("portrait.jpg");
    let level = |g: &GrayImage, x: u32, y: u32| g.get_pixel(x, y).0[0];
    let upright = decode_photo_bytes(&jpeg_with_orientation(&img, 1), path).unwrap();
    assert_eq!(upright.dimensions(), (64, 32));
    assert!(level(&upright, 8, 16) < 60 && level(&upright, 56, 16) > 190);
    // 6: the stored image is shown rotated 90° clockwise, so the dark left half comes out on top.
    let rotated = decode_photo_bytes(&jpeg_with_orientation(&img, 6), path).unwrap();
    assert_eq!(rotated.dimensions(), (32, 64));
    assert!(level(&rotated, 16, 8) < 60 && level(&rotated, 16, 56) > 190);
    // 8: rotated 90° counter-clockwise, dark half at the bottom. 3: rotated 180°, dark half on the right.
    let ccw = decode_photo_bytes(&jpeg_with_orientation(&img, 8), path).unwrap();
    assert!(level(&ccw, 16, 56) < 60 && level(&ccw, 16, 8) > 190);
    let flipped = decode_photo_bytes(&jpeg_with_orientation(&img, 3), path).unwrap();
    assert_eq!(flipped.dimensions(), (64, 32));
    assert!(level(&flipped, 56, 16) < 60 && level(&flipped, 8, 16) > 190);
    // PNG, TIFF and BMP photos decode (without a tag, as stored); colour becomes luma.
    let dir = tempfile::tempdir().unwrap();
    for ext in ["png", "tiff", "bmp"] {
        let p = dir.path().join(format!("photo.{ext}"));
        image::RgbImage::from_pixel(10, 6, image::Rgb([200, 100, 50])).save(&p).unwrap();
        let g = decode_photo(&p).unwrap();
        assert_eq!(g.dimensions(), (10, 6), "{ext}");
    }
}

#[test]
fn unreadable_photos_are_refused_or_skipped_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("a-good.png");
    textured_canvas(200, 150, 1).save(&good).unwrap();
    let broken = dir.path().join("b-broken.jpg");
    std::fs::write(&broken, b"\xFF\xD8 truncated").unwrap();
    let empty = dir.path().join("c-empty.png");
    std::fs::write(&empty, b"").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a photo").unwrap();
    let paths = photo_files(dir.path()).unwrap();
    assert_eq!(paths, vec![good.clone(), broken.clone(), empty.clone()], "photos only, sorted");

    let err = detect_photos(&paths, &DetectorConfig::default(), false).unwrap_err();
    assert!(matches!(err, DataError::Image { .. }), "{err:?}");
    assert!(err.to_string().contains("b-broken.jpg"), "the first bad file is named: {err}");
    let report = detect_photos(&paths, &DetectorConfig::default(), true).unwrap();
    assert_eq!(report.photos.len(), 1);
    let skipped: Vec<String> = report.skipped.iter().map(ToString::to_string).collect();
    assert_eq!(skipped.len(), 2);
    assert!(skipped[0].contains("b-broken.jpg") && skipped[1].contains("c-empty.png"), "{skipped:?}");
    let err = detect_photos(&[dir.path().join("missing.png")], &DetectorConfig::default(), false).unwrap_err();
    assert!(err.to_string().contains("missing.png"), "{err}");

    // A photo without a face is an error only where one is required (a query), naming the photo.
    let err = best_face(&good, &DetectorConfig::default()).unwrap_err();
    assert!(matches!(err, DataError::NoFace { .. }) && err.to_string().contains("a-good.png"), "{err}");
}

#[test]
fn options_are_validated_and_read_from_partial_toml() {
    let ok = DetectorConfig::default();
    ok.validate().unwrap();
    let cases: [(&str, DetectorConfig); 6] = [
        ("min_face_size", DetectorConfig { min_face_size: 10, ..ok.clone() }),
        ("max_face_size", DetectorConfig { max_face_size: Some(30), ..ok.clone() }),
        ("score_threshold", DetectorConfig { score_threshold: 0.0, ..ok.clone() }),
        ("pyramid_scale", DetectorConfig { pyramid_scale: 1.0, ..ok.clone() }),
        ("margin", DetectorConfig { margin: -0.1, ..ok.clone() }),
        ("crop_size", DetectorConfig { crop_size: 0, ..ok.clone() }),
    ];
    for (field, cfg) in cases {
        let err = cfg.validate().unwrap_err();
        assert!(err.to_string().contains(field), "{field}: {err}");
        assert!(FaceDetector::new(&cfg).is_err());
    }
    let cfg: DetectorConfig = toml::from_str("min_face_size = 64\nmargin = 0.3\n").unwrap();
    assert_eq!((cfg.min_face_size, cfg.margin, cfg.crop_size), (64, 0.3, ok.crop_size));
    assert!(toml::from_str::<DetectorConfig>("min_face = 64\n").is_err(), "unknown fields are refused");
}

#[test]
fn composed_photos_put_faces_where_they_say() {
    let face = GrayImage::from_fn(48, 48, |x, y| Luma([((x * 5 + y * 3) % 256) as u8]));
    let canvas = textured_canvas(640, 480, 5);
    let faces = vec![face.clone(); 4];
    let p = compose(&canvas, &faces, (96, 120), 9).unwrap();
    assert_eq!(p.faces.len(), 4);
    for (i, a) in p.faces.iter().enumerate() {
        assert!((96..=120).contains(&a.width) && a.width == a.height);
        assert!(a.x >= 0 && a.y >= 0 && a.x as u32 + a.width <= 640 && a.y as u32 + a.height <= 480);
        for b in &p.faces[i + 1..] {
            assert_eq!(a.iou(b), 0.0, "{a:?} overlaps {b:?}");
        }
        // The pasted pixels are the upscaled face: its centre pixel is the face's centre, nearly.
        let (cx, cy) = (a.x as u32 + a.width / 2, a.y as u32 + a.height / 2);
        let want = i32::from(face.get_pixel(24, 24).0[0]);
        assert!((i32::from(p.image.get_pixel(cx, cy).0[0]) - want).abs() <= 12);
    }
    assert_eq!(compose(&canvas, &faces, (96, 120), 9).unwrap().faces, p.faces, "seeded");
    assert!(compose(&canvas, &vec![face.clone(); 40], (150, 150), 1).is_err(), "40 large faces do not fit");

    // The album bookkeeping: face counts per photo within the range, every photo of its size.
    let spec =
        AlbumSpec { photos: 6, faces_per_photo: (0, 3), sizes: vec![(640, 480), (300, 400)], ..Default::default() };
    let album = compose_album(&faces, &spec).unwrap();
    assert_eq!(album.len(), 6);
    for (i, p) in album.iter().enumerate() {
        assert_eq!(p.image.dimensions(), spec.sizes[i % 2]);
        assert!(p.faces.len() <= 3);
    }

    // Matching boxes: one hit, one miss, one false positive.
    let truth = [FaceBox::new(0, 0, 100, 100), FaceBox::new(300, 0, 100, 100)];
    let found = [FaceBox::new(10, 10, 100, 100), FaceBox::new(200, 200, 50, 50)];
    assert_eq!(match_boxes(&truth, &found, 0.5), Matching { hits: 1, misses: 1, false_positives: 1 });
}

#[test]
#[ignore = "needs SGM_DATA_DIR"]
fn ferplus_faces_pasted_on_canvases_are_found() {
    let dir = ferplus_test_dir();
    let faces = ferplus_faces(&dir, 100);
    let spec = AlbumSpec { photos: 40, faces_per_photo: (1, 4), ..Default::default() };
    let album = compose_album(&faces, &spec).unwrap();
    let cfg = DetectorConfig::default();
    let mut detector = FaceDetector::new(&cfg).unwrap();
    let (mut framed, mut raw) = (Matching::default(), Matching::default());
    for p in &album {
        let found = detect_image(&mut detector, &p.image, Path::new("composed"));
        framed += match_boxes(&p.faces, &found.iter().map(|d| d.crop_box).collect::<Vec<_>>(), 0.5);
        raw += match_boxes(&p.faces, &found.iter().map(|d| d.bbox).collect::<Vec<_>>(), 0.5);
        for d in &found {
            assert_eq!(d.crop.dimensions(), (cfg.crop_size, cfg.crop_size));
        }
    }
    let empty: usize = (0..20u64)
        .map(|i| detect_image(&mut detector, &textured_canvas(640, 480, 500 + i), Path::new("canvas")).len())
        .sum();
    println!(
        "{} faces on {} photos: crop box recall {:.3} ({} false positives), detector box recall {:.3}; {empty} \
         detections on 20 empty canvases",
        framed.hits + framed.misses,
        album.len(),
        framed.recall(),
        framed.false_positives,
        raw.recall()
    );
    // Measured: 79 of 99 (FER+ holds turned heads, hands over faces and 48-pixel crops upscaled 2–3 times, which
    // a frontal detector misses); the 3 unmatched detections each cover part of a pasted face.
    assert!(framed.recall() >= 0.75, "recall {:.3}: {framed:?}", framed.recall());
    assert!(framed.false_positives <= 5, "{framed:?}");
    assert_eq!(empty, 0, "nothing on the empty canvases");
}
