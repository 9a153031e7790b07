"""The kit a source is written with, above the generic core: the contract a source fills in
(`contract`), the figure driver and its rounding rules (`figures`), the models of the figure tables
(`models`), the rules for dates in time (`dates`), and the toolkits for drawing sample deliveries
(`sampling`) and wording report sections (`reporting`). It names no source."""
