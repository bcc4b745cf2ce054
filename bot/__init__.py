"""Pana: an information and legal-aid chatbot for refugees and stateless people in Kazakhstan."""
