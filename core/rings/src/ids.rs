//! The IDs a driver hands out (split: head descriptors; packed: buffer IDs) and the token each
//! carries while the device holds it: Linux's free list and `desc_state[id].data`.

use crate::Used;

/// Free and outstanding IDs of a ring of `q`.
pub(crate) struct Ids {
    /// Per ID: the token it was added with, while the device may hold it.
    held: Box<[Option<u64>]>,
    /// Free IDs as a stack: the last one freed is reused first, as Linux's `free_head` list and
    /// the engine do (unused under IN_ORDER).
    free: Vec<u16>,
    /// IN_ORDER: IDs go out in ring order; the next one.
    next: u16,
    num_free: u16,
    q: u16,
    in_order: bool,
}

impl Ids {
    pub(crate) fn new(q: u16, in_order: bool) -> Ids {
        Ids {
            held: vec![None; usize::from(q)].into(),
            free: (0..q).rev().collect(),
            next: 0,
            num_free: q,
            q,
            in_order,
        }
    }

    /// IDs free.
    #[inline(always)]
    pub(crate) fn free(&self) -> u16 {
        self.num_free
    }

    /// An ID for a new buffer that carries `token`; `None` when all are out.
    #[inline(always)]
    pub(crate) fn give(&mut self, token: u64) -> Option<u16> {
        if self.num_free == 0 {
            return None;
        }
        let id = if self.in_order {
            let id = self.next;
            self.next = ((u32::from(id) + 1) % u32::from(self.q)) as u16;
            id
        } else {
            self.free.pop()?
        };
        self.num_free -= 1;
        self.held[usize::from(id)] = Some(token);
        Some(id)
    }

    /// Under IN_ORDER, how many buffers a used entry naming `id` stands for: every outstanding
    /// ID from the oldest through `id` (IDs went out in ring order, so the oldest is the one
    /// `q - free` back). `None` when `id` is not outstanding. Without IN_ORDER, 1.
    #[inline(always)]
    pub(crate) fn span(&self, id: u32) -> Option<u16> {
        if !self.in_order {
            return Some(1);
        }
        let q = u32::from(self.q);
        if id >= q {
            return Some(1); // `take` says what is wrong with it
        }
        let oldest = (u32::from(self.next) + u32::from(self.num_free)) % q;
        let n = ((id + q - oldest) % q + 1) as u16;
        (n <= self.q - self.num_free).then_some(n)
    }

    /// Takes back the `n` buffers ending with `id` (`span`), handing each token to `f`: `len`
    /// for `id`, `None` for the older ones, whose used entries an IN_ORDER device skipped.
    #[inline(always)]
    pub(crate) fn take_used(
        &mut self,
        id: u32,
        n: u16,
        len: u32,
        f: &mut impl FnMut(Used),
    ) -> Result<(), String> {
        let q = u32::from(self.q);
        for k in 1..u32::from(n) {
            let older = (id + q * 2 - (u32::from(n) - k)) % q;
            let token = self.take(older)?;
            f(Used { token, len: None });
        }
        let token = self.take(id)?;
        f(Used {
            token,
            len: Some(len),
        });
        Ok(())
    }

    /// Takes back one ID: its token, or the violation Linux reports.
    #[inline(always)]
    fn take(&mut self, id: u32) -> Result<u64, String> {
        match self.held.get_mut(id as usize).map(Option::take) {
            Some(Some(token)) => {
                if !self.in_order {
                    self.free.push(id as u16);
                }
                self.num_free += 1;
                Ok(token)
            }
            Some(None) => Err(format!("id {id} is not a head!")),
            None => Err(format!("id {id} out of range")),
        }
    }
}
