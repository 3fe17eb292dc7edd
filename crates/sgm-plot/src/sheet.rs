//! Contact sheets: gray images of one size laid out in a grid, with an optional coloured frame around a cell and an
//! optional colour bar under each image. The one tiler of sgm (`sgm data show`, `sgm sheets`); captions and
//! titles are [`gallery`](crate::gallery)'s.

/// How a contact sheet is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SheetLayout {
    /// Images per row (at least 1).
    pub columns: usize,
    /// Height of every image.
    pub height: usize,
    /// Width of every image.
    pub width: usize,
    /// Pixels between cells and around the grid.
    pub gap: usize,
    /// Rows of the colour bar under each image (0: no bar); the bar sits one pixel below the image.
    pub bar: usize,
    /// Colour of the background.
    pub background: [u8; 3],
}

/// One cell of a contact sheet: an image of the layout's size, and its decorations.
#[derive(Debug, Clone, Copy)]
pub struct SheetCell<'a> {
    /// Gray pixels, row-major, `height × width`.
    pub pixels: &'a [u8],
    /// A one-pixel frame just outside the image, in the gap.
    pub frame: Option<[u8; 3]>,
    /// The colour of the bar under the image (with a layout that has one).
    pub bar: Option<[u8; 3]>,
}

/// Lays the cells out row by row; returns (width, height, RGB bytes).
pub fn contact_sheet(layout: &SheetLayout, cells: &[SheetCell<'_>]) -> (u32, u32, Vec<u8>) {
    let SheetLayout { height: h, width: w, gap, bar, background, .. } = *layout;
    let cols = layout.columns.max(1);
    let rows = cells.len().div_ceil(cols);
    let bar_rows = if bar > 0 { bar + 1 } else { 0 };
    let (cell_w, cell_h) = (w + gap, h + bar_rows + gap);
    let (width, height) = (cols * cell_w + gap, rows * cell_h + gap);
    let mut rgb: Vec<u8> = background.iter().copied().cycle().take(width * height * 3).collect();
    let mut put = |x: usize, y: usize, c: [u8; 3]| {
        if x < width && y < height {
            rgb[(y * width + x) * 3..][..3].copy_from_slice(&c);
        }
    };
    for (k, cell) in cells.iter().enumerate() {
        let (x0, y0) = (gap + (k % cols) * cell_w, gap + (k / cols) * cell_h);
        for y in 0..h {
            for x in 0..w {
                let v = cell.pixels[y * w + x];
                put(x0 + x, y0 + y, [v, v, v]);
            }
        }
        if let (Some(c), true) = (cell.bar, bar > 0) {
            for y in h + 1..h + 1 + bar {
                for x in 0..w {
                    put(x0 + x, y0 + y, c);
                }
            }
        }
        if let (Some(c), true) = (cell.frame, gap > 0) {
            for x in x0 - 1..x0 + w + 1 {
                put(x, y0 - 1, c);
                put(x, y0 + h, c);
            }
            for y in y0 - 1..y0 + h + 1 {
                put(x0 - 1, y, c);
                put(x0 + w, y, c);
            }
        }
    }
    (width as u32, height as u32, rgb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_sit_one_row_under_their_image() {
        let (a, b) = ([10u8; 6], [200u8; 6]); // 2 × 3 each
        let layout = SheetLayout { columns: 2, height: 2, width: 3, gap: 2, bar: 4, background: [0, 0, 0] };
        let cells = [
            SheetCell { pixels: &a, frame: None, bar: Some([1, 2, 3]) },
            SheetCell { pixels: &b, frame: None, bar: Some([4, 5, 6]) },
        ];
        let (w, h, rgb) = contact_sheet(&layout, &cells);
        assert_eq!((w, h), (2 + 2 * 5, 2 + 9));
        let px = |x: usize, y: usize| &rgb[(y * w as usize + x) * 3..][..3];
        assert_eq!(px(2, 2), &[10, 10, 10]);
        assert_eq!(px(7, 2), &[200, 200, 200]);
        assert_eq!(px(7, 4), &[0, 0, 0], "one row between image and bar");
        assert_eq!(px(7, 5), &[4, 5, 6]);
        assert_eq!(px(2, 8), &[1, 2, 3]);
        assert_eq!(px(0, 0), &[0, 0, 0]);
    }

    #[test]
    fn a_frame_surrounds_its_image_in_the_gap() {
        let img = [100u8; 6]; // 2 × 3
        let layout = SheetLayout { columns: 2, height: 2, width: 3, gap: 2, bar: 0, background: [0, 0, 0] };
        let cells = [
            SheetCell { pixels: &img, frame: Some([255, 255, 255]), bar: None },
            SheetCell { pixels: &img, frame: None, bar: None },
        ];
        let (w, h, rgb) = contact_sheet(&layout, &cells);
        assert_eq!((w, h), (2 + 2 * 5, 2 + 4));
        let px = |x: usize, y: usize| &rgb[(y * w as usize + x) * 3..][..3];
        assert_eq!(px(2, 2), &[100, 100, 100]);
        assert_eq!(px(1, 1), &[255, 255, 255]);
        assert_eq!(px(5, 4), &[255, 255, 255]);
        assert_eq!(px(6, 1), &[0, 0, 0], "the second cell has no frame");
    }

    #[test]
    fn a_short_last_row_keeps_the_background() {
        let img = [7u8; 4];
        let layout = SheetLayout { columns: 2, height: 2, width: 2, gap: 1, bar: 0, background: [40, 40, 40] };
        let cells = [SheetCell { pixels: &img, frame: None, bar: None }; 3];
        let (w, h, rgb) = contact_sheet(&layout, &cells);
        assert_eq!((w, h), (7, 7));
        assert_eq!(&rgb[(4 * 7 + 4) * 3..][..3], &[40, 40, 40]);
        assert_eq!(&rgb[(4 * 7 + 1) * 3..][..3], &[7, 7, 7]);
    }
}
