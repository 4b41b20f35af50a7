"""Motion QC: synthetic k-space motion, Jenkinson motion scores, SFCN score regression, transfer and the volume filter."""
