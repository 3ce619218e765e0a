"""The WeChat Official Account channel (微信公众号): callback, safe-mode crypto, dedupe, replies, binding."""
