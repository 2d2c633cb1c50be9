//! How the process asks glibc's allocator to hand memory back.
//!
//! A cycle allocates in bursts (a batch of entries, whole feeds and their
//! compressed copies, the status pages). Left to its defaults, glibc raises
//! its threshold for giving a block a mapping of its own, up to 32 MB, each
//! time it frees a mapped one: later multi-megabyte buffers then land inside
//! its arenas, whose pages stay with the process once freed. A daemon of
//! 20,000 sources grew from 216 MB to 246 MB between two steady cycles that
//! way, and held 142 MB with the threshold fixed (docs/PERFORMANCE.md).

/// Blocks at least this large get a mapping of their own, returned to the
/// kernel when freed: feed bodies, whole rendered files and their compressed
/// copies. Below it, the arenas serve.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD_BYTES: libc::c_int = 256 * 1024;

/// Fixes glibc's threshold for mapped blocks. Called first thing in `main`,
/// before anything large is allocated. One arena per core as well made the
/// cold cycle's CPU 15 % higher for no less memory, so the arenas stay as they are.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes glibc's allocation settings; it takes no
    // pointers and leaves every live allocation where it is.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
    }
}

/// Each stored and grouped batch frees most of what it allocated, but glibc
/// keeps freed pages inside its arenas, and the next batches, built on other
/// threads, and publishing would add their own memory on top of them. Handing
/// them back after each batch and before publishing lowers the cycle's peak
/// (by 20 MB on the benchmark's 1,000 feeds, for no measurable time); after
/// publishing, it leaves between cycles only the memory still in use.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the kernel; it takes no
    // pointers and leaves every live allocation where it is.
    unsafe {
        libc::malloc_trim(0);
    }
}
