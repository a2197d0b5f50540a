"""Providers: one class per service that delivers messages, each implementing `message.Provider`."""
