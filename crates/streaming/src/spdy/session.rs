//! A server-side SPDY/3.1 session over any byte stream: peer-opened streams are answered
//! with SYN_REPLY and handed out; pings are echoed; writes are funnelled through one task.

use std::collections::HashMap;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

use super::frame::{Codec, FLAG_FIN, Frame, Headers, header};

/// Largest data frame this side sends.
const CHUNK: usize = 32 * 1024;
/// RST_STREAM status CANCEL.
const CANCEL: u32 = 5;

enum Out {
    Frame(Frame),
    Close(oneshot::Sender<()>),
}

/// Writes data frames of one stream.
#[derive(Clone)]
pub struct StreamWriter {
    id: u32,
    out: mpsc::Sender<Out>,
}

impl StreamWriter {
    /// The stream id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Send `data` (split into frames); false once the session is gone.
    pub async fn write(&self, data: &[u8]) -> bool {
        for chunk in data.chunks(CHUNK) {
            let frame = Frame::Data {
                stream_id: self.id,
                flags: 0,
                data: Bytes::copy_from_slice(chunk),
            };
            if self.out.send(Out::Frame(frame)).await.is_err() {
                return false;
            }
        }
        true
    }

    /// Half-close: this side sends nothing more on the stream.
    pub async fn finish(&self) {
        let frame = Frame::Data {
            stream_id: self.id,
            flags: FLAG_FIN,
            data: Bytes::new(),
        };
        let _ = self.out.send(Out::Frame(frame)).await;
    }

    /// Abort the stream.
    pub async fn reset(&self) {
        let frame = Frame::RstStream {
            stream_id: self.id,
            status: CANCEL,
        };
        let _ = self.out.send(Out::Frame(frame)).await;
    }
}

/// A stream the peer opened.
pub struct SpdyStream {
    pub id: u32,
    pub headers: Headers,
    /// Data from the peer; ends when the peer half-closes or resets the stream.
    pub data: mpsc::Receiver<Bytes>,
    pub writer: StreamWriter,
}

impl SpdyStream {
    /// The first value of a header of the SYN_STREAM.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

/// A running server session.
pub struct Session {
    incoming: mpsc::Receiver<SpdyStream>,
    out: mpsc::Sender<Out>,
    reader_done: Option<oneshot::Receiver<()>>,
}

impl Session {
    /// Start serving the SPDY byte stream `io`.
    pub fn start<T>(io: T) -> Session
    where
        T: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (rd, wr) = tokio::io::split(io);
        let (out_tx, out_rx) = mpsc::channel(256);
        let (in_tx, in_rx) = mpsc::channel(16);
        let (done_tx, done_rx) = oneshot::channel();
        tokio::spawn(write_loop(wr, out_rx));
        let out = out_tx.clone();
        tokio::spawn(async move {
            if let Err(e) = read_loop(rd, out, in_tx).await {
                tracing::debug!(error = %e, "SPDY session read ended");
            }
            let _ = done_tx.send(());
        });
        Session {
            incoming: in_rx,
            out: out_tx,
            reader_done: Some(done_rx),
        }
    }

    /// The next stream the peer opens; `None` once the connection is gone.
    pub async fn accept(&mut self) -> Option<SpdyStream> {
        self.incoming.recv().await
    }

    /// Say GOAWAY, wait up to `linger` for the peer to hang up, then close the connection.
    pub async fn close(mut self, linger: Duration) {
        let goaway = Frame::GoAway {
            last_good_stream_id: 0,
            status: 0,
        };
        let _ = self.out.send(Out::Frame(goaway)).await;
        // Keep draining streams so the reader never blocks on a full queue.
        self.incoming.close();
        if let Some(done) = self.reader_done.take() {
            let _ = tokio::time::timeout(linger, done).await;
        }
        let (tx, rx) = oneshot::channel();
        if self.out.send(Out::Close(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(mut wr: W, mut rx: mpsc::Receiver<Out>) {
    let mut codec = Codec::new();
    let mut buf = BytesMut::new();
    while let Some(item) = rx.recv().await {
        match item {
            Out::Frame(f) => {
                if let Err(e) = codec.encode(&f, &mut buf) {
                    tracing::debug!(error = %e, "SPDY encode failed");
                    break;
                }
                // Batch whatever else is queued already.
                while buf.len() < 256 * 1024 {
                    match rx.try_recv() {
                        Ok(Out::Frame(f)) => {
                            if codec.encode(&f, &mut buf).is_err() {
                                break;
                            }
                        }
                        Ok(Out::Close(done)) => {
                            let _ = wr.write_all(&buf).await;
                            let _ = wr.shutdown().await;
                            let _ = done.send(());
                            return;
                        }
                        Err(_) => break,
                    }
                }
                if wr.write_all(&buf).await.is_err() || wr.flush().await.is_err() {
                    break;
                }
                buf.clear();
            }
            Out::Close(done) => {
                let _ = wr.shutdown().await;
                let _ = done.send(());
                return;
            }
        }
    }
    // The connection failed: answer close requests so nobody waits forever.
    while let Some(item) = rx.recv().await {
        if let Out::Close(done) = item {
            let _ = done.send(());
        }
    }
}

async fn read_loop<R: AsyncRead + Unpin>(
    mut rd: R,
    out: mpsc::Sender<Out>,
    incoming: mpsc::Sender<SpdyStream>,
) -> crate::Result<()> {
    let mut codec = Codec::new();
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut streams: HashMap<u32, mpsc::Sender<Bytes>> = HashMap::new();
    loop {
        while let Some(frame) = codec.decode(&mut buf)? {
            match frame {
                Frame::SynStream {
                    stream_id,
                    flags,
                    headers,
                    ..
                } => {
                    let reply = Frame::SynReply {
                        stream_id,
                        flags: 0,
                        headers: vec![],
                    };
                    if out.send(Out::Frame(reply)).await.is_err() {
                        return Ok(());
                    }
                    let (tx, rx) = mpsc::channel(64);
                    if flags & FLAG_FIN == 0 {
                        streams.insert(stream_id, tx);
                    }
                    let stream = SpdyStream {
                        id: stream_id,
                        headers,
                        data: rx,
                        writer: StreamWriter {
                            id: stream_id,
                            out: out.clone(),
                        },
                    };
                    if incoming.send(stream).await.is_err() {
                        tracing::debug!(stream_id, "SPDY stream opened after the session ended");
                    }
                }
                Frame::Data {
                    stream_id,
                    flags,
                    data,
                } => {
                    if !data.is_empty()
                        && let Some(tx) = streams.get(&stream_id)
                        && tx.send(data).await.is_err()
                    {
                        streams.remove(&stream_id);
                    }
                    if flags & FLAG_FIN != 0 {
                        streams.remove(&stream_id);
                    }
                }
                Frame::RstStream { stream_id, .. } => {
                    streams.remove(&stream_id);
                }
                Frame::Headers {
                    stream_id, flags, ..
                } => {
                    if flags & FLAG_FIN != 0 {
                        streams.remove(&stream_id);
                    }
                }
                Frame::Ping { id } => {
                    // Answer the peer's pings (odd ids from a client); ours are never sent.
                    if out.send(Out::Frame(Frame::Ping { id })).await.is_err() {
                        return Ok(());
                    }
                }
                Frame::GoAway { .. } => return Ok(()),
                Frame::SynReply { .. }
                | Frame::Settings { .. }
                | Frame::WindowUpdate { .. }
                | Frame::Unknown { .. } => {}
            }
        }
        if rd.read_buf(&mut buf).await? == 0 {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_frame<R: AsyncRead + Unpin>(
        rd: &mut R,
        codec: &mut Codec,
        buf: &mut BytesMut,
    ) -> Frame {
        loop {
            if let Some(f) = codec.decode(buf).expect("decode") {
                return f;
            }
            let n = rd.read_buf(buf).await.expect("read");
            assert!(n > 0, "connection closed early");
        }
    }

    #[tokio::test]
    async fn streams_are_replied_and_data_flows_both_ways() {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let mut session = Session::start(server);
        let (mut crd, mut cwr) = tokio::io::split(client);
        let mut tx = Codec::new();
        let mut rx = Codec::new();
        let mut wire = BytesMut::new();
        tx.encode(
            &Frame::SynStream {
                stream_id: 1,
                associated_to: 0,
                priority: 0,
                flags: 0,
                headers: vec![("streamtype".into(), "stdin".into())],
            },
            &mut wire,
        )
        .expect("encode");
        tx.encode(
            &Frame::Data {
                stream_id: 1,
                flags: FLAG_FIN,
                data: Bytes::from_static(b"input"),
            },
            &mut wire,
        )
        .expect("encode");
        tx.encode(&Frame::Ping { id: 1 }, &mut wire)
            .expect("encode");
        cwr.write_all(&wire).await.expect("write");

        let mut stream = session.accept().await.expect("stream");
        assert_eq!(stream.header("streamtype"), Some("stdin"));
        assert_eq!(stream.data.recv().await.as_deref(), Some(&b"input"[..]));
        assert_eq!(stream.data.recv().await, None);
        assert!(stream.writer.write(b"output").await);
        stream.writer.finish().await;

        let mut buf = BytesMut::new();
        let f = read_frame(&mut crd, &mut rx, &mut buf).await;
        assert!(matches!(f, Frame::SynReply { stream_id: 1, .. }));
        assert_eq!(
            read_frame(&mut crd, &mut rx, &mut buf).await,
            Frame::Ping { id: 1 }
        );
        assert_eq!(
            read_frame(&mut crd, &mut rx, &mut buf).await,
            Frame::Data {
                stream_id: 1,
                flags: 0,
                data: Bytes::from_static(b"output")
            }
        );
        assert_eq!(
            read_frame(&mut crd, &mut rx, &mut buf).await,
            Frame::Data {
                stream_id: 1,
                flags: FLAG_FIN,
                data: Bytes::new()
            }
        );
        drop(cwr);
        session.close(Duration::from_secs(1)).await;
        assert!(matches!(
            read_frame(&mut crd, &mut rx, &mut buf).await,
            Frame::GoAway { .. }
        ));
    }
}
