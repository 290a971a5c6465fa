//! A WebSocket carrying a plain byte stream (binary messages), as a local duplex pipe.

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

/// Bridge `ws` to the returned pipe: bytes written to it go out as binary messages, and
/// the payloads of incoming messages can be read from it.
pub fn byte_stream(ws: WebSocket) -> DuplexStream {
    let (ours, theirs) = tokio::io::duplex(256 * 1024);
    let (mut rd, mut wr) = tokio::io::split(ours);
    let (mut sink, mut stream) = ws.split();
    tokio::spawn(async move {
        while let Some(Ok(msg)) = stream.next().await {
            let ok = match msg {
                Message::Binary(b) => wr.write_all(&b).await.is_ok(),
                Message::Text(t) => wr.write_all(t.as_str().as_bytes()).await.is_ok(),
                Message::Close(_) => false,
                Message::Ping(_) | Message::Pong(_) => true,
            };
            if !ok {
                break;
            }
        }
        let _ = wr.shutdown().await;
    });
    tokio::spawn(async move {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let msg = Message::Binary(bytes::Bytes::copy_from_slice(&buf[..n]));
                    if sink.send(msg).await.is_err() {
                        return;
                    }
                }
            }
        }
        let close = CloseFrame {
            code: 1000,
            reason: "".into(),
        };
        let _ = sink.send(Message::Close(Some(close))).await;
        let _ = sink.close().await;
    });
    theirs
}
