"""Tests of minicnn.style: losses, the VGG feature extractor, style transfer, DeepDream, images, CLI."""
