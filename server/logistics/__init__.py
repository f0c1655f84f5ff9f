"""Logistics between factories: transport days and costs between prefectures."""
