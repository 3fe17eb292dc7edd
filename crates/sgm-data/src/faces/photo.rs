//! Photos from disk: the image files of a folder, and decoding one to 8-bit grey the right way up.
//!
//! Cameras store a portrait shot as a landscape image plus an EXIF orientation tag; [`decode_photo`] applies the
//! tag (JPEG EXIF, TIFF orientation tag), so boxes refer to the photo as a viewer shows it. PNG, TIFF (including
//! 8-bit palette TIFF, through [`crate::image_io`]), BMP and JPEG are read.

use std::path::{Path, PathBuf};

use image::{DynamicImage, GrayImage, ImageDecoder, ImageReader};

use crate::error::{DataError, Result};
use crate::image_io;

/// File extensions (lower case) read as photos.
pub const PHOTO_EXTENSIONS: [&str; 6] = ["jpg", "jpeg", "png", "tif", "tiff", "bmp"];

/// Whether `path` has one of the [`PHOTO_EXTENSIONS`] (case-insensitive).
pub fn is_photo(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| PHOTO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The photo files of `dir` (not searched recursively), sorted by name. Other files are ignored.
pub fn photo_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))?;
    let mut files = Vec::new();
    for e in entries {
        let path = e.map_err(|e| DataError::io(dir, e))?.path();
        if path.is_file() && is_photo(&path) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Reads the photo at `path` and decodes it to 8-bit luma, with its EXIF orientation applied.
pub fn decode_photo(path: &Path) -> Result<GrayImage> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    decode_photo_bytes(&bytes, path)
}

/// Decodes an encoded photo to 8-bit luma with its orientation tag applied. `path` is used in errors only.
pub fn decode_photo_bytes(bytes: &[u8], path: &Path) -> Result<GrayImage> {
    let bad = |e: image::ImageError| DataError::Image { path: path.to_path_buf(), reason: e.to_string() };
    let oriented = (|| {
        let mut decoder = ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format()?.into_decoder()?;
        // A malformed EXIF block is not worth refusing the photo for: it is shown as stored.
        let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
        let mut img = DynamicImage::from_decoder(decoder)?;
        img.apply_orientation(orientation);
        Ok::<_, image::ImageError>(img.into_luma8())
    })();
    match oriented {
        Ok(img) => Ok(img),
        // 8-bit palette TIFFs, which `image` cannot decode, are read by image_io (without orientation).
        Err(_) if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") => {
            image_io::decode_luma_bytes(bytes, path)
        }
        Err(e) => Err(bad(e)),
    }
}
