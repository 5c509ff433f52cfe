"""The Coffre benchmark harness (bench/run): limits, peer and Coffre measured in one run."""
