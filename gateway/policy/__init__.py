"""What a caller may ask for: the input a door read, the operator's rules over it, attachments' limits.

Below the pipeline and the profile (a profile holds its policy; the pipeline applies it).
"""
