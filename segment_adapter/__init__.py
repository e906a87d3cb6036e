"""Turn Segment ``identify`` / ``track`` events into Qualtrics XM Directory and workflow calls."""
