/* Keurmerk loader: placeholder until the widget lands. */
