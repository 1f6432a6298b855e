//! The async data-channel handle.

use bytes::Bytes;
use tern_peer::{ChannelId, ChannelInfo, DataChannelMessage, DataChannelState};
use tokio::sync::{mpsc, oneshot, watch};

use crate::driver::{Command, Outgoing};
use crate::Error;

/// One data channel (W3C `RTCDataChannel`). Dropping the handle closes the
/// channel; the connection lives while any of its handles does.
pub struct DataChannel {
    id: ChannelId,
    label: String,
    commands: mpsc::Sender<Command>,
    messages: mpsc::Receiver<DataChannelMessage>,
    state: watch::Receiver<DataChannelState>,
}

impl std::fmt::Debug for DataChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataChannel")
            .field("label", &self.label)
            .field("state", &*self.state.borrow())
            .finish_non_exhaustive()
    }
}

impl DataChannel {
    pub(crate) fn new(
        id: ChannelId,
        label: String,
        commands: mpsc::Sender<Command>,
        messages: mpsc::Receiver<DataChannelMessage>,
        state: watch::Receiver<DataChannelState>,
    ) -> Self {
        DataChannel {
            id,
            label,
            commands,
            messages,
            state,
        }
    }

    /// The label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The handle's id within its connection.
    pub fn channel_id(&self) -> ChannelId {
        self.id
    }

    /// W3C `readyState`.
    pub fn ready_state(&self) -> DataChannelState {
        *self.state.borrow()
    }

    /// Waits until the channel is open; fails if it closes first.
    pub async fn wait_open(&self) -> Result<(), Error> {
        let mut s = self.state.clone();
        let r = s
            .wait_for(|s| {
                matches!(
                    s,
                    DataChannelState::Open | DataChannelState::Closing | DataChannelState::Closed
                )
            })
            .await;
        match r.as_deref() {
            Ok(DataChannelState::Open) => Ok(()),
            _ => Err(Error::ChannelClosed),
        }
    }

    /// Waits until the channel is closed.
    pub async fn wait_closed(&self) {
        let mut s = self.state.clone();
        let _ = s.wait_for(|s| *s == DataChannelState::Closed).await;
    }

    async fn request<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, Error> {
        crate::driver::request(&self.commands, make).await
    }

    /// Sends text. Waits while the channel's buffered amount is above the
    /// connection's high-water mark (backpressure).
    pub async fn send_text(&self, text: impl Into<String>) -> Result<(), Error> {
        send(&self.commands, self.id, Outgoing::Text(text.into())).await
    }

    /// Sends binary data (no copy for a `Bytes` or `Vec<u8>`). Waits while
    /// the buffered amount is above the high-water mark.
    pub async fn send_binary(&self, data: impl Into<Bytes>) -> Result<(), Error> {
        send(&self.commands, self.id, Outgoing::Binary(data.into())).await
    }

    /// Sends a message of either kind.
    pub async fn send(&self, message: DataChannelMessage) -> Result<(), Error> {
        self.sender().send(message).await
    }

    /// A sending half that can move to another task while this handle
    /// keeps receiving. It does not keep the channel open by itself.
    pub fn sender(&self) -> DataChannelSender {
        DataChannelSender {
            id: self.id,
            commands: self.commands.clone(),
        }
    }

    /// The next message; `None` once the channel is closed and drained.
    pub async fn recv(&mut self) -> Option<DataChannelMessage> {
        self.messages.recv().await
    }

    /// W3C `bufferedAmount`.
    pub async fn buffered_amount(&self) -> Result<usize, Error> {
        self.request(|r| Command::BufferedAmount(self.id, r)).await
    }

    /// The channel's attributes (`None` once closed and forgotten).
    pub async fn info(&self) -> Result<Option<ChannelInfo>, Error> {
        self.request(|r| Command::ChannelInfo(self.id, r)).await
    }

    /// Closes the channel (W3C `close`): what is queued still goes out.
    pub async fn close(&self) -> Result<(), Error> {
        self.commands
            .send(Command::CloseChannel(self.id))
            .await
            .map_err(|_| Error::Closed)
    }
}

async fn send(commands: &mpsc::Sender<Command>, id: ChannelId, m: Outgoing) -> Result<(), Error> {
    crate::driver::request(commands, |r| Command::Send(id, m, r)).await?
}

/// The sending half of a [`DataChannel`] (see [`DataChannel::sender`]).
#[derive(Clone)]
pub struct DataChannelSender {
    id: ChannelId,
    commands: mpsc::Sender<Command>,
}

impl std::fmt::Debug for DataChannelSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DataChannelSender({})", self.id)
    }
}

impl DataChannelSender {
    /// Sends text, waiting while the buffered amount is above the high-water mark.
    pub async fn send_text(&self, text: impl Into<String>) -> Result<(), Error> {
        send(&self.commands, self.id, Outgoing::Text(text.into())).await
    }
    /// Sends binary data, waiting while the buffered amount is above the high-water mark.
    pub async fn send_binary(&self, data: impl Into<Bytes>) -> Result<(), Error> {
        send(&self.commands, self.id, Outgoing::Binary(data.into())).await
    }
    /// Sends a message of either kind.
    pub async fn send(&self, message: DataChannelMessage) -> Result<(), Error> {
        match message {
            DataChannelMessage::Text(t) => self.send_text(t).await,
            DataChannelMessage::Binary(b) => self.send_binary(b).await,
            _ => Ok(()),
        }
    }
}

impl Drop for DataChannel {
    fn drop(&mut self) {
        if *self.state.borrow() != DataChannelState::Closed {
            // Best effort: if the command queue is full the connection is
            // busy; the channel then closes with the connection.
            let _ = self.commands.try_send(Command::CloseChannel(self.id));
        }
    }
}
