"""videokiosk: video consultations from a self-service booth."""

__version__ = "0.1.0"
