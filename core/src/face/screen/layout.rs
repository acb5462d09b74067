//! Rectangles of cells and the one splitting rule every screen uses, so both faces place panes
//! at the same cells.

use serde::{Deserialize, Serialize};

/// A rectangle of cells, `x`/`y` from the screen's top-left corner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Rect {
    /// Left column.
    pub x: u16,
    /// Top row.
    pub y: u16,
    /// Columns.
    pub width: u16,
    /// Rows.
    pub height: u16,
}

impl Rect {
    /// A rectangle.
    pub const fn new(x: u16, y: u16, width: u16, height: u16) -> Rect {
        Rect {
            x,
            y,
            width,
            height,
        }
    }

    /// Whether the cell at `(x, y)` lies inside.
    pub fn contains(&self, x: u16, y: u16) -> bool {
        x >= self.x
            && y >= self.y
            && u32::from(x) < u32::from(self.x) + u32::from(self.width)
            && u32::from(y) < u32::from(self.y) + u32::from(self.height)
    }

    /// The area inside a one-cell border.
    pub fn inner(&self) -> Rect {
        Rect {
            x: self.x.saturating_add(1),
            y: self.y.saturating_add(1),
            width: self.width.saturating_sub(2),
            height: self.height.saturating_sub(2),
        }
    }

    /// Whether it has no cells.
    pub fn is_empty(&self) -> bool {
        self.width == 0 || self.height == 0
    }

    /// One row of it (relative), full width.
    pub fn row(&self, r: u16) -> Rect {
        Rect::new(self.x, self.y + r, self.width, 1)
    }

    /// Splits it into rows of these constraints, top to bottom.
    pub fn rows<const N: usize>(&self, c: [Constraint; N]) -> [Rect; N] {
        let sizes = split(self.height, &c);
        let mut y = self.y;
        std::array::from_fn(|i| {
            let r = Rect::new(self.x, y, self.width, sizes[i]);
            y += sizes[i];
            r
        })
    }

    /// Splits it into columns of these constraints, left to right.
    pub fn cols<const N: usize>(&self, c: [Constraint; N]) -> [Rect; N] {
        let sizes = split(self.width, &c);
        let mut x = self.x;
        std::array::from_fn(|i| {
            let r = Rect::new(x, self.y, sizes[i], self.height);
            x += sizes[i];
            r
        })
    }
}

/// How much of a row or column one part takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Constraint {
    /// Exactly this many cells if they are there.
    Length(u16),
    /// At least this many, and any excess.
    Min(u16),
    /// A share of the excess, by weight.
    Fill(u16),
}

/// Sizes for `constraints` along `total` cells: `Min` floors first, then each `Length` in order
/// from what is left; the excess goes to the `Fill`s by weight (the first ones get the
/// rounding), else to the last `Min`, else to the last part.
pub fn split(total: u16, constraints: &[Constraint]) -> Vec<u16> {
    let mut left = total;
    let mut sizes = vec![0u16; constraints.len()];
    for (s, c) in sizes.iter_mut().zip(constraints) {
        if let Constraint::Min(n) = *c {
            *s = n.min(left);
            left -= *s;
        }
    }
    for (s, c) in sizes.iter_mut().zip(constraints) {
        if let Constraint::Length(n) = *c {
            *s = n.min(left);
            left -= *s;
        }
    }
    if left == 0 || sizes.is_empty() {
        return sizes;
    }
    let weights: Vec<(usize, u16)> = constraints
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match c {
            Constraint::Fill(w) => Some((i, (*w).max(1))),
            _ => None,
        })
        .collect();
    if !weights.is_empty() {
        let sum: u32 = weights.iter().map(|w| u32::from(w.1)).sum();
        let excess = u32::from(left);
        let mut given = 0;
        for &(i, w) in &weights {
            let share = (excess * u32::from(w) / sum) as u16;
            sizes[i] += share;
            given += share;
        }
        // Rounding leftovers, one cell each from the first fill on.
        for &(i, _) in weights.iter().cycle().take(usize::from(left - given)) {
            sizes[i] += 1;
        }
        return sizes;
    }
    let last_min = constraints
        .iter()
        .rposition(|c| matches!(c, Constraint::Min(_)));
    let i = last_min.unwrap_or(sizes.len() - 1);
    sizes[i] += left;
    sizes
}

#[cfg(test)]
mod tests {
    use super::Constraint::*;
    use super::*;

    #[test]
    fn mins_are_kept_before_lengths() {
        assert_eq!(split(80, &[Length(84), Min(20)]), [60, 20]);
        assert_eq!(split(200, &[Length(84), Length(64), Min(20)]), [84, 64, 52]);
        assert_eq!(split(200, &[Min(80), Length(46)]), [154, 46]);
    }

    #[test]
    fn fills_share_the_excess() {
        assert_eq!(split(160, &[Fill(1), Fill(1)]), [80, 80]);
        assert_eq!(split(161, &[Fill(1), Fill(1)]), [81, 80]);
        assert_eq!(split(100, &[Fill(1), Length(64)]), [36, 64]);
    }

    #[test]
    fn rects_split_in_place() {
        let r = Rect::new(2, 3, 10, 4);
        let [a, b] = r.cols([Length(4), Min(1)]);
        assert_eq!((a, b), (Rect::new(2, 3, 4, 4), Rect::new(6, 3, 6, 4)));
        assert!(b.contains(11, 6) && !b.contains(12, 6));
        assert_eq!(r.inner(), Rect::new(3, 4, 8, 2));
    }
}
