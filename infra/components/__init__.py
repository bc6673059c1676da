"""Pulumi components, one per platform part; `platform.Platform` composes them."""
