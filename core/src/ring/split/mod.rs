//! The split virtqueue (virtio 1.2 §2.7): a driver and a device that share a descriptor table,
//! an available ring and a used ring, and talk only through their bytes.
//!
//! Each side keeps the private state its real counterpart keeps (Linux's `vring_virtqueue`,
//! QEMU's `VirtQueue`): shadow indices, a free list, what it has signalled. Every read or write
//! of shared state goes through the [`Bus`](crate::memory::Bus), one micro step each, in the
//! order and with the barriers the real code uses.
//!
//! [`driver`] holds the driver's side, [`device`] the device's; each reads and writes the ring
//! only through the bus.

pub mod device;
pub mod driver;

pub use device::SplitDevice;
pub use driver::{HeadState, SplitDriver};
