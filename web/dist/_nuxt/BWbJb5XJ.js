import{a1 as s}from"./DjSLSRl6.js";const t=s("/favicon.svg");export{t as _};
