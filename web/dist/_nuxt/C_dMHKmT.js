import{a1 as s}from"./xmpn74hw.js";const t=s("/favicon.svg");export{t as _};
