//! What `std` would bring, in the few bytes the widget needs: a panic
//! handler that traps without formatting a message (which keeps `core::fmt`
//! out of the wasm) and a bump allocator (the UI is built once per page and
//! then only toggles switches, so never freeing costs little, while dlmalloc
//! would cost several kilobytes). Together they keep the wasm far smaller
//! than a build with `core::fmt` and dlmalloc (measured on a test banner:
//! see docs/benchmarks.md, widget bench).

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::cell::Cell;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    wasm32::unreachable()
}

const PAGE: usize = 65536;

struct Bump {
    next: Cell<usize>,
    end: Cell<usize>,
}

// SAFETY: single-threaded wasm; the allocator is never shared across threads.
unsafe impl Sync for Bump {}

unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let align = layout.align();
        let mut start = (self.next.get() + align - 1) & !(align - 1);
        if start + layout.size() > self.end.get() {
            // Fresh pages: memory.grow returns the old size in pages.
            let pages = (layout.size() + align).div_ceil(PAGE);
            let old = wasm32::memory_grow(0, pages);
            if old == usize::MAX {
                // Out of memory: stop here, as the default handler would
                // after a null. Never returning null lets LLVM drop callers'
                // null checks, which shrinks the wasm.
                wasm32::unreachable();
            }
            if old * PAGE != self.end.get() {
                start = (old * PAGE + align - 1) & !(align - 1);
            }
            self.end.set((old + pages) * PAGE);
        }
        self.next.set(start + layout.size());
        start as *mut u8
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

#[global_allocator]
static ALLOC: Bump = Bump {
    next: Cell::new(0),
    end: Cell::new(0),
};
