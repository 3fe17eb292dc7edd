//! Fixture writers shared by the loader tests: tiny images in every format the loaders read.

use std::path::Path;

use image::{GrayImage, ImageFormat, Luma, RgbImage};

/// A `w × h` gray image whose pixels are `seed + x + 3y` (mod 256), so different seeds give different images.
pub fn gray(w: u32, h: u32, seed: u8) -> GrayImage {
    GrayImage::from_fn(w, h, |x, y| Luma([seed.wrapping_add((x + 3 * y) as u8)]))
}

/// Writes `img` at `path` (creating folders) in the format given by the extension.
pub fn save(path: &Path, img: &GrayImage) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let fmt = ImageFormat::from_path(path).unwrap();
    img.save_with_format(path, fmt).unwrap();
}

/// Writes a flat-colour RGB JPEG (JPEG cannot hold exact pixels; tests only check sizes and labels).
pub fn save_rgb_jpeg(path: &Path, w: u32, h: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    RgbImage::from_pixel(w, h, image::Rgb([120, 60, 30])).save_with_format(path, ImageFormat::Jpeg).unwrap();
}

/// Writes text at `path` (creating folders).
pub fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A minimal uncompressed little-endian 8-bit palette TIFF whose palette maps index i to gray 255 - i
/// (JAFFE holds such files).
pub fn palette_tiff(path: &Path, width: u32, height: u32, indices: &[u8]) {
    let n_entries = 10u32;
    let cmap_off = 8 + 2 + 12 * n_entries + 4;
    let data_off = cmap_off + 768 * 2;
    let entries: [(u16, u16, u32, u32); 10] = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 1, 8),
        (259, 3, 1, 1),
        (262, 3, 1, 3),
        (273, 4, 1, data_off),
        (277, 3, 1, 1),
        (278, 4, 1, height),
        (279, 4, 1, width * height),
        (320, 3, 768, cmap_off),
    ];
    let mut b = vec![b'I', b'I', 42, 0];
    b.extend_from_slice(&8u32.to_le_bytes());
    b.extend_from_slice(&(n_entries as u16).to_le_bytes());
    for (tag, ty, count, value) in entries {
        b.extend_from_slice(&tag.to_le_bytes());
        b.extend_from_slice(&ty.to_le_bytes());
        b.extend_from_slice(&count.to_le_bytes());
        if ty == 3 && count == 1 {
            b.extend_from_slice(&(value as u16).to_le_bytes());
            b.extend_from_slice(&[0, 0]);
        } else {
            b.extend_from_slice(&value.to_le_bytes());
        }
    }
    b.extend_from_slice(&0u32.to_le_bytes());
    for _channel in 0..3 {
        for i in 0..256u32 {
            b.extend_from_slice(&(((255 - i) * 257) as u16).to_le_bytes());
        }
    }
    b.extend_from_slice(indices);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, b).unwrap();
}

/// `$SGM_DATA_DIR`, for the tests marked `#[ignore = "needs SGM_DATA_DIR"]`; panics naming the variable when it is
/// unset, so that `--ignored` without data fails instead of passing.
pub fn data_dir() -> std::path::PathBuf {
    match std::env::var_os("SGM_DATA_DIR") {
        Some(d) if !d.is_empty() => std::path::PathBuf::from(d),
        _ => panic!("this test needs the real data: set SGM_DATA_DIR (see ../shared/data/README.md)"),
    }
}
