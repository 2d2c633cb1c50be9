//! Zero-copy sending of large published files.
//!
//! hyper writes a response body from the memory it was given, so the kernel
//! copies every byte into the socket; for the 648 KB feed that copy was 40 % of
//! the server's time. A large file's body is therefore read through a handle
//! that is kept open, and the body's memory is registered with that handle.
//! The connection type handed to hyper recognises a buffer lying inside a
//! registered body and sends that range from the file with `sendfile(2)`,
//! which hands page-cache pages to the socket; everything else is written as
//! usual.
//!
//! A registered body is the bytes read through the handle it is sent from, so
//! both are the same version of the file: publish replaces files by rename,
//! and the handle keeps the replaced file alive for as long as any response
//! still holds its body. A response is always one version, whole.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, IoSlice, Read};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Smaller bodies are cheaper to copy than to send in a second system call.
const MIN_SENDFILE: usize = 64 * 1024;

/// A registered body: its length and the file it was read from.
struct Region {
    len: usize,
    file: Arc<File>,
}

/// Registered bodies by the address of their first byte. A body is
/// registered while it is alive and removed before its memory is freed, so a
/// buffer that is alive and lies inside a registered range is part of that
/// body: live allocations never overlap.
static REGIONS: RwLock<BTreeMap<usize, Region>> = RwLock::new(BTreeMap::new());

fn regions_mut() -> std::sync::RwLockWriteGuard<'static, BTreeMap<usize, Region>> {
    REGIONS
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The file and offset `buf` can be sent from, if it lies in a registered body.
fn lookup(buf: &[u8]) -> Option<(Arc<File>, usize)> {
    // An empty slice may point just past a body, and `sendfile` of nothing
    // would read as a truncated file.
    if buf.is_empty() {
        return None;
    }
    let start = buf.as_ptr() as usize;
    let regions = REGIONS
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let (&base, region) = regions.range(..=start).next_back()?;
    let offset = start - base;
    (offset + buf.len() <= region.len).then(|| (Arc::clone(&region.file), offset))
}

/// A file's bytes and the open file they were read from.
struct FileBody {
    bytes: Box<[u8]>,
    file: Arc<File>,
}

impl AsRef<[u8]> for FileBody {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl Drop for FileBody {
    fn drop(&mut self) {
        regions_mut().remove(&(self.bytes.as_ptr() as usize));
    }
}

/// Reads a published file; a large one is registered to be sent from the
/// file rather than copied.
pub(super) fn read_body(path: &Path) -> io::Result<Bytes> {
    let mut file = File::open(path)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    if bytes.len() < MIN_SENDFILE {
        return Ok(Bytes::from(bytes));
    }
    let body = FileBody {
        bytes: bytes.into_boxed_slice(),
        file: Arc::new(file),
    };
    regions_mut().insert(
        body.bytes.as_ptr() as usize,
        Region {
            len: body.bytes.len(),
            file: Arc::clone(&body.file),
        },
    );
    Ok(Bytes::from_owner(body))
}

/// Accepts connections for hyper as [`Connection`]s.
pub(super) struct Listener(pub TcpListener);

impl axum::serve::Listener for Listener {
    type Io = Connection;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Connection, SocketAddr) {
        loop {
            match self.0.accept().await {
                Ok((stream, addr)) => {
                    // A response's last partial segment must not wait for the
                    // client's acknowledgement of the ones before it (Nagle);
                    // the head is held back by `MSG_MORE` instead.
                    if let Err(e) = stream.set_nodelay(true) {
                        tracing::debug!("TCP_NODELAY: {e}");
                    }
                    return (Connection(stream), addr);
                }
                Err(e) if is_connection_error(&e) => {}
                Err(e) => {
                    // Most likely out of file descriptors: retrying at once
                    // would spin while connections close.
                    tracing::error!("accept: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// A TCP connection whose writes of registered bodies use `sendfile(2)`.
pub(super) struct Connection(TcpStream);

impl Connection {
    /// Writes `bufs` (a response head) telling the kernel that a body
    /// follows, so that both leave in the same segments.
    fn try_write_more(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.0.try_io(Interest::WRITABLE, || {
            // SAFETY: `msghdr` is a C struct of integers and pointers, for
            // which all zeroes (no address, no control data) is valid.
            let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
            // `IoSlice` is guaranteed to be ABI compatible with `iovec` on
            // Unix, and `sendmsg` only reads through the pointer.
            message.msg_iov = bufs.as_ptr().cast::<libc::iovec>().cast_mut();
            message.msg_iovlen = bufs.len();
            // SAFETY: the socket is open (owned by `self`), and `message`
            // points at `bufs.len()` slices that live for the whole call.
            let sent = unsafe {
                libc::sendmsg(
                    self.0.as_raw_fd(),
                    &message,
                    libc::MSG_MORE | libc::MSG_NOSIGNAL,
                )
            };
            usize::try_from(sent).map_err(|_| io::Error::last_os_error())
        })
    }

    /// Sends `buf`, which lies at `offset` in `file`, from the file.
    fn try_sendfile(&self, file: &File, offset: usize, buf: &[u8]) -> io::Result<usize> {
        self.0.try_io(Interest::WRITABLE, || {
            let mut offset = libc::off_t::try_from(offset)
                .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
            // SAFETY: both descriptors are open for the whole call (the socket
            // is owned by `self`, the file by the `Arc` the caller holds), and
            // `offset` is a valid, exclusively borrowed `off_t`.
            let sent = unsafe {
                libc::sendfile(self.0.as_raw_fd(), file.as_raw_fd(), &mut offset, buf.len())
            };
            match sent {
                n if n < 0 => Err(io::Error::last_os_error()),
                // The file is shorter than the body read from it: it was
                // changed in place. Ending the connection is the only way not
                // to send a mix.
                0 => Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "published file was truncated while being sent",
                )),
                n => Ok(n.unsigned_abs()),
            }
        })
    }

    /// Runs a non-blocking write `attempt` once the socket is writable.
    fn poll_writable(
        &self,
        cx: &mut Context<'_>,
        mut attempt: impl FnMut() -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.0.poll_write_ready(cx))?;
            match attempt() {
                // `try_io` cleared the readiness: the next poll waits for it.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                done => return Poll::Ready(done),
            }
        }
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    /// hyper passes the response head and the body's chunks together; the
    /// buffers before a registered body are written held back for it, then as much
    /// of the body as the socket takes without waiting is sent from its file.
    /// The count returned is what was sent, and hyper calls again for the rest.
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let found = bufs
            .iter()
            .enumerate()
            .find_map(|(i, buf)| lookup(buf).map(|(file, offset)| (i, file, offset)));
        let Some((i, file, offset)) = found else {
            return Pin::new(&mut self.0).poll_write_vectored(cx, bufs);
        };
        if i == 0 {
            return self.poll_writable(cx, || self.try_sendfile(&file, offset, &bufs[0]));
        }
        let before: usize = bufs[..i].iter().map(|b| b.len()).sum();
        let written = ready!(self.poll_writable(cx, || self.try_write_more(&bufs[..i])))?;
        if written < before {
            return Poll::Ready(Ok(written));
        }
        // The head was written and must be reported whatever happens to the
        // body now; hyper calls again for the body, and an error shows then.
        let sent = self.try_sendfile(&file, offset, &bufs[i]).unwrap_or(0);
        Poll::Ready(Ok(written + sent))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
