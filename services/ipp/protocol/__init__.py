"""IPP/2.x on the wire (RFC 8010): tags, status codes and the message codec."""
