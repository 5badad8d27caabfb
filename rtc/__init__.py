"""WebRTC: the booth's peer connection, the signalling protocol and call statistics."""
