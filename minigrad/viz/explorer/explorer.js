/* minigrad explorer: the page script (filled in by the front end). */
